"""The rate-limit tween: every request counted once against its route's group.

What is counted: every request against the limit of its route's group (``benben.ratelimit.groups``,
assigned with ``config.set_ratelimit_group(route_name, group)``) or ``benben.ratelimit.default``
for routes of no configured group; unsafe methods (POST, PUT, PATCH, DELETE) also against group
``write`` when that group is configured.  ``/health/*`` is never limited (probes); ``GET /metrics``
is answered above this tween.  Each refused request counts once in
``benben_ratelimit_rejections_total``, under the group of the limit that refused it.

A tween rather than a subscriber after routing: a refused request is answered before the body
limit, the transaction and the router, and a credential's 401 after it was counted.  Routing
twice is avoided instead: before routing only the routes of configured groups are tried, and
most paths are told apart from them by their prefix (see :class:`_Groups`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pyramid.httpexceptions import HTTPException
from pyramid.interfaces import IRoute, IRoutesMapper
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response

from benben.errors import http_error_view
from benben.observability.metrics import ROUTE_ENVIRON_KEY
from benben.ratelimit.counting import (
    DECISIONS_ENVIRON_KEY,
    Decision,
    buckets_for,
    count_against,
    headers_of,
    principal_key,
    too_many,
)
from benben.ratelimit.rules import EXEMPTIONS_KEY, LIMITS_KEY, ROUTE_GROUPS_KEY, RateLimits

__all__ = ["ratelimit_tween_factory"]

WRITE_GROUP = "write"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
EXEMPT_PREFIX = "/health/"

Handler = Callable[[Request], Response]


class _Groups:
    """The configured group of the route the router will match (tweens run before routing).

    Only routes of a *configured* group (``benben.ratelimit.groups``) change what is counted;
    every other route counts against the default.  So rather than matching the whole route list
    (the router matches it again after this tween), only those routes are tried; one that
    matches is the router's match unless an earlier route matches too, which is then checked.
    """

    def __init__(self, registry: Registry, config: RateLimits) -> None:
        mapper = registry.queryUtility(IRoutesMapper)
        self.mapper = mapper
        assigned: dict[str, str] = registry[ROUTE_GROUPS_KEY]
        routes = list(mapper.get_routes()) if mapper is not None else []
        self.grouped = [
            (position, route, assigned[route.name])
            for position, route in enumerate(routes)
            if assigned.get(route.name) in config.groups
        ]
        self.routes = routes
        # What a path matching a grouped route starts with (its pattern up to the first
        # placeholder): most requests are told apart by one startswith, without decoding the
        # path or matching a route.  ASCII prefixes are tested on the undecoded path as well.
        prefixes = tuple(_literal_prefix(route.pattern) for _, route, _ in self.grouped)
        self.prefixes = prefixes if all(p.isascii() for p in prefixes) else ("",)

    def group(self, request: Request) -> str | None:
        if not request.environ.get("PATH_INFO", "").startswith(self.prefixes):
            return None
        try:
            path = request.path_info or "/"  # as the router reads it
        except UnicodeDecodeError:  # the router answers it (400); counted as ungrouped
            return None
        for position, route, group in self.grouped:
            if self._matches(route, request, path):
                if any(self._matches(r, request, path) for r in self.routes[:position]):
                    return self._router_group(request)  # an earlier route wins: ask the router
                request.environ[ROUTE_ENVIRON_KEY] = route
                return group
        return None

    @staticmethod
    def _matches(route: IRoute, request: Request, path: str) -> bool:
        match = route.match(path)
        if match is None:
            return False
        predicates = route.predicates
        info = {"match": match, "route": route}
        return not predicates or all(p(info, request) for p in predicates)

    def _router_group(self, request: Request) -> str | None:
        """The group of the route the router matches (its whole list)."""
        route = self.route(request)
        config_groups: dict[str, str] = request.registry[ROUTE_GROUPS_KEY]
        return None if route is None else config_groups.get(route.name)

    def route(self, request: Request) -> IRoute | None:
        """The route the router matches, recorded for the metrics' labels."""
        if self.mapper is None:
            return None
        try:
            route = self.mapper(request)["route"]
        except Exception:  # an undecodable path: the router answers it; counted as ungrouped
            return None
        if route is not None:
            request.environ[ROUTE_ENVIRON_KEY] = route
        return route


def _literal_prefix(pattern: str) -> str:
    """The part of a route pattern before its first placeholder (``{name}``, ``*rest`` or the
    old ``:name``), with the leading slash the router adds."""
    pattern = pattern if pattern.startswith("/") else "/" + pattern
    return re.split(r"[{*:]", pattern, maxsplit=1)[0]


def _count_this_request(request: Request, config: RateLimits, groups: _Groups) -> Exception | None:
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
    group = groups.group(request) if groups.grouped else None
    buckets = [buckets_for(config, group)]
    counts_as_write = request.method not in SAFE_METHODS and WRITE_GROUP in config.groups
    if counts_as_write and buckets[0][0] != WRITE_GROUP:
        buckets.append((WRITE_GROUP, config.groups[WRITE_GROUP]))
    request.environ[DECISIONS_ENVIRON_KEY] = count_against(request, key, buckets, 1)
    return credential_error


def ratelimit_tween_factory(handler: Handler, registry: Registry) -> Handler:
    config: RateLimits = registry[LIMITS_KEY]

    groups = _Groups(registry, config)
    exempt = (EXEMPT_PREFIX, *registry.get(EXEMPTIONS_KEY, ()))

    def ratelimit_tween(request: Request) -> Response:
        # The undecoded path: an ASCII prefix is the same there, and decoding costs.
        if request.environ.get("PATH_INFO", "").startswith(exempt):
            return handler(request)
        error = _count_this_request(request, config, groups)
        decisions: list[Decision] = request.environ[DECISIONS_ENVIRON_KEY]
        if any(not d.allowed for d in decisions):
            if ROUTE_ENVIRON_KEY not in request.environ:
                groups.route(request)  # the 429's metrics are labelled with its route
            return http_error_view(too_many(request, decisions), request)
        if error is not None and ROUTE_ENVIRON_KEY not in request.environ:
            groups.route(request)  # answered here: its metrics are labelled with its route
        if isinstance(error, HTTPException):
            raise error
        if error is not None:  # rendered by its exception view (503 for the database)
            return request.invoke_exception_view((type(error), error, error.__traceback__))
        try:
            response = handler(request)
        except HTTPException as exc:
            response = http_error_view(exc, request) if exc.code >= 400 else exc
        if "matched_route" not in request.__dict__ and ROUTE_ENVIRON_KEY not in request.environ:
            groups.route(request)  # answered before routing (a 413, a 404): labelled alike
        if decisions:
            headers = headers_of(decisions)
            if "Retry-After" in headers:  # a 429 from count_request: it carries its own
                del headers["Retry-After"]
                response.headers.update(headers)
            else:  # no RateLimit-* yet (only a refusal sets them): appended, no lookups
                response.headerlist.extend(headers.items())
        return response

    return ratelimit_tween
