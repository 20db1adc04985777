"""Cache: a dogpile.cache region built from settings, kept on the registry, served per request.

``memory`` (default) is in-process; ``redis`` is shared by every instance. Either way the backend is
wrapped so that a failing cache degrades to cache misses, never to an error response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dogpile.cache import CacheRegion, make_region, register_backend
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request

from benben.cache.memory import BoundedDict
from benben.cache.redis_backend import BACKEND_NAME as REDIS_BACKEND
from benben.cache.redis_versions import RedisVersionBoard
from benben.cache.resilience import CacheStats, ResilientBackend
from benben.cache.service import NO_VALUE, CacheService, ICacheService
from benben.cache.versions import VersionBoard

__all__ = [
    "NO_VALUE",
    "VERSIONS_KEY",
    "CacheService",
    "CacheStats",
    "ICacheService",
    "build_region",
    "build_version_board",
    "cache_region",
    "cache_stats",
    "version_board",
]

REGION_KEY = "benben.cache.region"
VERSIONS_KEY = "benben.cache.versions"
STATS_KEY = "benben.cache.stats"
_PROBE_KEY = "health-probe"
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def version_board(registry: Any) -> VersionBoard:
    """The app's version board: versions and counters announced after commits."""
    return registry[VERSIONS_KEY]


def cache_region(registry: Any) -> CacheRegion:
    """The app's dogpile.cache region (``request.cache`` is the service around it)."""
    return registry[REGION_KEY]


def cache_stats(registry: Any) -> CacheStats:
    """Hits, misses and failures of the app's cache region."""
    return registry[STATS_KEY]


def build_region(settings: Mapping[str, Any], stats: CacheStats) -> CacheRegion:
    backend = settings["benben.cache.backend"]
    prefix = settings["benben.cache.prefix"]
    region = make_region(key_mangler=lambda key: prefix + key)
    resilient = ResilientBackend(
        stats,
        retry_interval=float(settings["benben.cache.retry_interval"]),
        log_interval=float(settings["benben.cache.error_log_interval"]),
    )
    expiration = int(settings["benben.cache.expiration"])
    if backend == "memory":
        # Pickled like Redis values: a cached value cannot be changed by mutating what get()
        # returned, and what cannot go to Redis in production fails in development too.
        region.configure(
            "dogpile.cache.memory_pickle",
            expiration_time=expiration,
            arguments={"cache_dict": BoundedDict(int(settings["benben.cache.max_items"]))},
            wrap=[resilient],
        )
    elif backend == "null":
        region.configure("dogpile.cache.null", wrap=[resilient])
    else:
        try:
            import redis  # noqa: F401 - fail here with a clear message rather than on first use
        except ModuleNotFoundError:
            raise ConfigurationError(
                "benben.cache.backend = redis needs the Redis client: pip install 'benben[redis]'"
            ) from None
        url = str(settings["benben.cache.url"])
        if not url.startswith(_REDIS_SCHEMES):
            raise ConfigurationError(
                f"invalid value for setting benben.cache.url: {url.split('@')[-1]!r} is not a "
                f"Redis URL (accepted schemes: {', '.join(_REDIS_SCHEMES)})"
            )
        timeout = float(settings["benben.cache.socket_timeout"])
        # Registering a backend name is idempotent: it maps the name to a module path.
        register_backend(REDIS_BACKEND, "benben.cache.redis_backend", "RedisBackend")
        region.configure(
            REDIS_BACKEND,
            expiration_time=expiration,
            arguments={
                "url": url,
                # Redis expires keys itself, a little after dogpile considers them stale, so
                # dogpile can still serve the old value while one thread regenerates it.
                "redis_expiration_time": expiration + 60,
                "distributed_lock": False,
                "connection_kwargs": {
                    "socket_timeout": timeout,
                    "socket_connect_timeout": timeout,
                    "health_check_interval": 30,
                },
            },
            wrap=[resilient],
        )
    return region


def build_version_board(settings: Mapping[str, Any]) -> VersionBoard:
    """Where announced versions are shared: this process (memory), every instance (Redis);
    with the null backend nothing is cached, so nothing is trusted."""
    backend = settings["benben.cache.backend"]
    if backend == "memory":
        # The embedded default (SQLite) is one process: what it announces, all of it hears.
        # PostgreSQL with private memory caches may be several instances that cannot tell
        # each other anything: nothing is served from memory then (as with the null backend).
        url = str(settings["benben.database.url"])
        embedded = not url or url.startswith("sqlite")
        return VersionBoard(trusted=embedded)
    if backend == "null":
        return VersionBoard(trusted=False)
    return RedisVersionBoard(
        str(settings["benben.cache.url"]),
        f"{settings['benben.cache.prefix']}versions",
        socket_timeout=float(settings["benben.cache.socket_timeout"]),
        retry_interval=float(settings["benben.cache.retry_interval"]),
    )


def _cache_service_factory(_context: Any, request: Request) -> CacheService:
    registry = request.registry
    return CacheService(cache_region(registry), cache_stats(registry), request.tm)


def _request_cache(request: Request) -> CacheService:
    return request.find_service(ICacheService)


def check_cache(request: Request) -> str | None:
    """Talk to the backend itself, bypassing the resilience wrapper that would hide an outage."""
    region = cache_region(request.registry)
    backend = region.backend
    while hasattr(backend, "proxied"):
        backend = backend.proxied
    key = region.key_mangler(_PROBE_KEY) if region.key_mangler else _PROBE_KEY
    if request.registry.settings["benben.cache.backend"] == "redis":
        backend.writer_client.set(key, b"1", ex=60)
        if backend.reader_client.get(key) is None:
            return "value written was not read back"
    return None


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    stats = CacheStats()
    config.registry[STATS_KEY] = stats
    config.registry[REGION_KEY] = build_region(settings, stats)
    config.registry[VERSIONS_KEY] = build_version_board(settings)
    config.register_service_factory(_cache_service_factory, ICacheService)
    config.add_request_method(_request_cache, "cache", reify=True)
    config.add_health_check("cache", check_cache)
