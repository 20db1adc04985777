"""The rate-limit storage: ``limits``' storage and moving-window strategy, built once per app.

When the storage fails (Redis down) requests are served unlimited: an outage of the limiter must
not become an outage of the API.  Failures are counted (``get_limit_store(registry).errors``) and
logged once per interval; the cache's ``retry_interval``, ``error_log_interval`` and
``socket_timeout`` settings apply.  Login throttling (:mod:`.throttle`) shares this storage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import limits
import limits.errors
from limits import RateLimitItem
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from pyramid.exceptions import ConfigurationError
from pyramid.registry import Registry

from benben.observability.outage import OutageGuard
from benben.ratelimit.lease import MOST
from benben.ratelimit.window import WindowCounter

__all__ = ["STORE_KEY", "LimitStore", "build_store", "get_limit_store", "storage_url"]

log = logging.getLogger(__name__)

STORE_KEY = "benben.ratelimit.store"
_REDIS_SCHEMES = ("redis", "rediss", "redis+unix", "valkey", "valkeys", "valkey+unix")


class LimitStore:
    """The limits storage and moving-window strategy, failing open while the storage is down.

    ``hit``/``test``/``stats``/``clear`` return ``None`` when the storage could not answer;
    callers then let the request through.  After a failure the storage is left alone for
    ``retry_interval`` seconds, so that an outage does not add a timeout to every request.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        retry_interval: float = 5.0,
        log_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        lease_slots: int = MOST,
    ) -> None:
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.guard = OutageGuard(
            "rate-limit storage",
            "requests are served unlimited",
            log,
            retry_interval=retry_interval,
            log_interval=log_interval,
            clock=clock,
        )
        self.windows = WindowCounter(storage, self.guard, lease_slots)

    @property
    def errors(self) -> int:
        return self.guard.errors

    @property
    def bypassed(self) -> int:
        return self.guard.bypassed

    def _call(self, operation: str, fn: Callable[[], Any]) -> Any:
        return self.guard.call(operation, fn)

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool | None:
        return self._call("hit", lambda: self.limiter.hit(item, *identifiers, cost=cost))

    def hit_all(
        self, entries: Sequence[tuple[RateLimitItem, tuple[str, ...]]], cost: int = 1
    ) -> list[tuple[bool, limits.WindowStats]] | None:
        """Count ``cost`` against every ``(item, identifiers)`` and read each window back (one
        round trip with Redis, see :mod:`.window`; none for a request served from a lease)."""
        return self.windows.hit(entries, cost)

    def test(self, item: RateLimitItem, *identifiers: str) -> bool | None:
        return self._call("test", lambda: self.limiter.test(item, *identifiers))

    def stats(self, item: RateLimitItem, *identifiers: str) -> limits.WindowStats | None:
        return self._call("stats", lambda: self.limiter.get_window_stats(item, *identifiers))

    def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        self._call("clear", lambda: self.limiter.clear(item, *identifiers))


def storage_url(settings: Mapping[str, Any]) -> str:
    """``benben.ratelimit.storage_url``; when empty, the cache's Redis if the cache is Redis (so
    that limits hold across instances wherever the cache is shared), else ``memory://``."""
    url = str(settings.get("benben.ratelimit.storage_url") or "")
    if url:
        return url
    if settings.get("benben.cache.backend") == "redis":
        return str(settings["benben.cache.url"])
    return "memory://"


def build_store(settings: Mapping[str, Any]) -> LimitStore:
    url = storage_url(settings)
    scheme = url.split("://", 1)[0].lower()
    options: dict[str, Any] = {}
    if scheme in _REDIS_SCHEMES:
        # Keys carry the cache prefix: instances of one deployment share them, two deployments
        # (or parallel test runs) on one Redis do not.
        options["key_prefix"] = f"{settings.get('benben.cache.prefix', 'benben:')}ratelimit"
        timeout = float(settings.get("benben.cache.socket_timeout", 0.5))
        options["socket_timeout"] = timeout
        options["socket_connect_timeout"] = timeout
    try:
        storage = storage_from_string(url, **options)
    except (limits.errors.ConfigurationError, ValueError) as exc:
        raise ConfigurationError(
            f"invalid value for setting benben.ratelimit.storage_url: {exc} "
            "(accepted: memory:// or redis://host:port/db)"
        ) from None
    if not isinstance(storage, Storage):  # async+... schemes cannot serve a WSGI app
        raise ConfigurationError(
            "invalid value for setting benben.ratelimit.storage_url: asynchronous storage "
            f"{scheme!r} is not supported (accepted: memory:// or redis://host:port/db)"
        )
    return LimitStore(
        storage,
        retry_interval=float(settings.get("benben.cache.retry_interval", 5.0)),
        log_interval=float(settings.get("benben.cache.error_log_interval", 60.0)),
        lease_slots=int(settings.get("benben.ratelimit.lease_slots", MOST)),
    )


def get_limit_store(registry: Registry) -> LimitStore:
    """The app's limit storage (shared by rate limits and login throttling)."""
    return registry[STORE_KEY]
