"""Rate limits per principal with the ``limits`` library, shared across instances through Redis.

Who is counted: the user (``user:<id>``) when the request carries a valid credential, else the
client address (made trustworthy by :mod:`benben.security.proxies`).

What is counted: every request against the limit of its route's group (``benben.ratelimit.groups``,
assigned with ``config.set_ratelimit_group(route_name, group)``) or ``benben.ratelimit.default``
for routes of no configured group; unsafe methods (POST, PUT, PATCH, DELETE) also against group
``write`` when that group is configured.  ``/health/*`` is never limited (probes); ``GET /metrics``
is answered above this tween.  Each refused request counts once in
``benben_ratelimit_rejections_total``, under the group of the limit that refused it.

Strategy: the moving window.  A fixed window lets a client spend twice its limit around a window
boundary (the end of one window and the start of the next), which matters most for the small
limits guarding logins; the moving window holds exactly, and ``Retry-After`` says when the oldest
counted request leaves it.  It stores one timestamp per counted request, bounded by the limit.

The storage is built once per app (on the registry).  When it fails (Redis down) requests are
served unlimited: an outage of the limiter must not become an outage of the API.  Failures are
counted (``registry["benben.ratelimit.store"].errors``) and logged once per interval; the cache's
``retry_interval``, ``error_log_interval`` and ``socket_timeout`` settings apply.

API for views (a batch endpoint counting each operation)::

    from benben.security.ratelimit import count_request
    count_request(request, "write", cost=len(operations))  # raises the 429 ProblemError
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import limits
import limits.errors
from limits import RateLimitItem
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.httpexceptions import HTTPException
from pyramid.interfaces import IRoutesMapper
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response

from benben.errors import ProblemError, http_error_view
from benben.observability.metrics import ROUTE_ENVIRON_KEY, get_metrics
from benben.observability.outage import OutageGuard
from benben.security.ratelimit_window import WindowCounter

__all__ = [
    "LimitStore",
    "RateLimits",
    "count_request",
    "get_limit_store",
    "principal_key",
    "ratelimit_tween_factory",
]

log = logging.getLogger(__name__)

STORE_KEY = "benben.ratelimit.store"
LIMITS_KEY = "benben.ratelimit.limits"
ROUTE_GROUPS_KEY = "benben.ratelimit.route_groups"
# Decisions of this request, kept in the environ so that a retried attempt (pyramid_retry) is not
# counted twice and count_request() can tighten the headers the tween sets.
DECISIONS_ENVIRON_KEY = "benben.ratelimit.decisions"
WRITE_GROUP = "write"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
EXEMPT_PREFIX = "/health/"
GROUP_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_REDIS_SCHEMES = ("redis", "rediss", "redis+unix", "valkey", "valkeys", "valkey+unix")

Handler = Callable[[Request], Response]


# -- storage ---------------------------------------------------------------------------------
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
    ) -> None:
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.windows = WindowCounter(storage)
        self.guard = OutageGuard(
            "rate-limit storage",
            "requests are served unlimited",
            log,
            retry_interval=retry_interval,
            log_interval=log_interval,
            clock=clock,
        )

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
        round trip with Redis, see :mod:`.ratelimit_window`)."""
        return self._call("hit", lambda: self.windows.hit(entries, cost))

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
    )


def get_limit_store(registry: Registry) -> LimitStore:
    """The app's limit storage (shared by rate limits and login throttling)."""
    return registry[STORE_KEY]


# -- configuration ---------------------------------------------------------------------------
def parse_limits(value: str, setting: str) -> tuple[RateLimitItem, ...]:
    """``"30/minute"`` or ``"30/minute;500/hour"`` -> limit items, or a ConfigurationError."""
    try:
        items = tuple(limits.parse_many(value))
    except ValueError:
        items = ()
    if not items or any(item.amount < 1 for item in items):
        raise ConfigurationError(
            f"invalid value {value!r} for setting {setting}: expected a rate limit such as "
            "'30/minute' or '10/second;500/hour' (count/second|minute|hour|day)"
        )
    return items


@dataclass(frozen=True)
class RateLimits:
    enabled: bool
    default: tuple[RateLimitItem, ...]
    groups: Mapping[str, tuple[RateLimitItem, ...]]

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> RateLimits:
        default = parse_limits(
            str(settings["benben.ratelimit.default"]), "benben.ratelimit.default"
        )
        groups: dict[str, tuple[RateLimitItem, ...]] = {}
        for word in settings["benben.ratelimit.groups"]:
            name, sep, notation = str(word).partition("=")
            if not sep or not GROUP_NAME.fullmatch(name):
                raise ConfigurationError(
                    f"invalid entry {word!r} in setting benben.ratelimit.groups: expected "
                    "group=limit words such as 'auth=30/minute write=300/minute'"
                )
            groups[name] = parse_limits(notation, f"benben.ratelimit.groups ({name})")
        return cls(bool(settings["benben.ratelimit.enabled"]), default, groups)


def set_ratelimit_group(config: Configurator, route_name: str, group: str) -> None:
    """Directive: requests matching route ``route_name`` count against ``group``'s limit
    (``benben.ratelimit.groups``) instead of the default.  A group the operator did not configure
    falls back to the default limit.  Two different assignments of one route conflict."""
    if not isinstance(group, str) or not GROUP_NAME.fullmatch(group):
        raise ConfigurationError(
            f"set_ratelimit_group({route_name!r}, {group!r}): a group name is lowercase letters, "
            "digits, '_', '-' or '.', starting with a letter"
        )
    route_groups: dict[str, str] = config.registry[ROUTE_GROUPS_KEY]

    def register() -> None:
        route_groups[route_name] = group

    intr = config.introspectable("ratelimit groups", route_name, f"{route_name} -> {group}",
                                 "ratelimit group")  # fmt: skip
    intr["route_name"] = route_name
    intr["group"] = group
    config.action(("benben.ratelimit.group", route_name), register, introspectables=(intr,))


# -- counting --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """One limit checked for this request: what the RateLimit-* headers report."""

    limit: int
    remaining: int
    reset_after: int  # seconds until the window frees a slot
    allowed: bool
    group: str = "default"  # the bucket counted: a configured group, or "default"


def principal_key(request: Request) -> str:
    """``user:<id>`` for a request with a valid credential, else ``addr:<client address>``.

    An invalid credential raises its 401 from ``request.identity``; callers let it through.
    """
    if request.environ.get("HTTP_AUTHORIZATION"):
        identity = request.identity
        if identity is not None:
            return f"user:{identity.user_id}"
    return f"addr:{request.client_addr or 'unknown'}"


def _count(
    request: Request, key: str, buckets: list[tuple[str, tuple[RateLimitItem, ...]]], cost: int
) -> list[Decision]:
    store = get_limit_store(request.registry)
    counted = [(bucket, item) for bucket, items in buckets for item in items]
    answers = store.hit_all([(item, (bucket, key)) for bucket, item in counted], cost)
    if answers is None:  # the storage is down: served unlimited
        return []
    now = time.time()
    decisions = []
    for (bucket, item), (allowed, stats) in zip(counted, answers, strict=True):
        reset_after = max(0, math.ceil(stats.reset_time - now))
        if not allowed:
            reset_after = max(1, reset_after)
        decisions.append(
            Decision(item.amount, max(0, stats.remaining), reset_after, allowed, bucket)
        )
    return decisions


def _headers(decisions: list[Decision]) -> dict[str, str]:
    """RateLimit-* of the tightest limit (a refused one first, then the fewest remaining)."""
    tightest = min(decisions, key=lambda d: (d.allowed, d.remaining, -d.reset_after))
    headers = {
        "RateLimit-Limit": str(tightest.limit),
        "RateLimit-Remaining": str(tightest.remaining),
        "RateLimit-Reset": str(tightest.reset_after),
    }
    if not tightest.allowed:
        headers["Retry-After"] = str(tightest.reset_after)
    return headers


def _too_many(request: Request, decisions: list[Decision]) -> ProblemError:
    refused = next(d for d in decisions if not d.allowed)
    get_metrics(request.registry).ratelimit_rejected(refused.group)
    headers = _headers(decisions)
    return ProblemError(
        429,
        detail=f"Rate limit exceeded; retry in {headers['Retry-After']} seconds.",
        headers=headers,
    )


def _buckets_for(config: RateLimits, group: str | None) -> tuple[str, tuple[RateLimitItem, ...]]:
    if group is not None and group in config.groups:
        return group, config.groups[group]
    return "default", config.default


def count_request(request: Request, group: str | None, cost: int = 1) -> None:
    """Count ``cost`` requests of this caller against ``group`` (the default limit when the group
    is not configured); raise the 429 ProblemError when over the limit.  No-op when disabled."""
    config: RateLimits = request.registry[LIMITS_KEY]
    if not config.enabled or cost < 1:
        return
    key = principal_key(request)
    decisions = _count(request, key, [_buckets_for(config, group)], cost)
    request.environ.setdefault(DECISIONS_ENVIRON_KEY, []).extend(decisions)
    if any(not d.allowed for d in decisions):
        raise _too_many(request, decisions)


def _route_group(request: Request) -> str | None:
    """The group of the route the router will match (tweens run before routing)."""
    mapper = request.registry.queryUtility(IRoutesMapper)
    if mapper is None:
        return None
    try:
        route = mapper(request)["route"]
    except Exception:  # an undecodable path: the router answers it; count it as ungrouped
        return None
    if route is None:
        return None
    request.environ[ROUTE_ENVIRON_KEY] = route  # metrics label a 429 with its route too
    return request.registry[ROUTE_GROUPS_KEY].get(route.name)


def _count_this_request(request: Request, config: RateLimits) -> Exception | None:
    """Count the request once (a retried attempt was counted already); returns the error the
    caller's credential raised, to be answered once the request has been counted."""
    if DECISIONS_ENVIRON_KEY in request.environ:
        return None
    credential_error: Exception | None = None
    try:
        key = principal_key(request)
    except Exception as exc:  # a refused token (401), or identity failing (database down)
        credential_error = exc
        key = f"addr:{request.client_addr or 'unknown'}"  # guessing tokens still costs
    buckets = [_buckets_for(config, _route_group(request))]
    counts_as_write = request.method not in SAFE_METHODS and WRITE_GROUP in config.groups
    if counts_as_write and buckets[0][0] != WRITE_GROUP:
        buckets.append((WRITE_GROUP, config.groups[WRITE_GROUP]))
    request.environ[DECISIONS_ENVIRON_KEY] = _count(request, key, buckets, 1)
    return credential_error


def ratelimit_tween_factory(handler: Handler, registry: Registry) -> Handler:
    config: RateLimits = registry[LIMITS_KEY]

    def ratelimit_tween(request: Request) -> Response:
        if request.path_info.startswith(EXEMPT_PREFIX):
            return handler(request)
        error = _count_this_request(request, config)
        decisions: list[Decision] = request.environ[DECISIONS_ENVIRON_KEY]
        if any(not d.allowed for d in decisions):
            return http_error_view(_too_many(request, decisions), request)
        if isinstance(error, HTTPException):
            raise error
        if error is not None:  # rendered by its exception view (503 for the database)
            return request.invoke_exception_view((type(error), error, error.__traceback__))
        try:
            response = handler(request)
        except HTTPException as exc:
            response = http_error_view(exc, request) if exc.code >= 400 else exc
        if decisions:
            headers = _headers(decisions)
            headers.pop("Retry-After", None)  # a 429 from count_request already carries its own
            response.headers.update(headers)
        return response

    return ratelimit_tween


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    config.registry[LIMITS_KEY] = RateLimits.from_settings(settings)
    config.registry[STORE_KEY] = build_store(settings)
    config.registry[ROUTE_GROUPS_KEY] = {}
    config.add_directive("set_ratelimit_group", set_ratelimit_group)
    if config.registry[LIMITS_KEY].enabled:
        config.add_tween(
            "benben.security.ratelimit.ratelimit_tween_factory",
            under=(
                "benben.security.proxies.proxies_tween_factory",
                "benben.observability.tweens.observability_tween_factory",
            ),
            over="pyramid_tm.tm_tween_factory",
        )
    config.include("benben.security.throttle")
