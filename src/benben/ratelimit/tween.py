"""The rate-limit tween: every request counted once against its route's group.

What is counted: every request against the limit of its route's group (``benben.ratelimit.groups``,
assigned with ``config.set_ratelimit_group(route_name, group)``) or ``benben.ratelimit.default``
for routes of no configured group; unsafe methods (POST, PUT, PATCH, DELETE) also against group
``write`` when that group is configured.  ``/health/*`` is never limited (probes); ``GET /metrics``
is answered above this tween.  Each refused request counts once in
``benben_ratelimit_rejections_total``, under the group of the limit that refused it.
"""

from __future__ import annotations

from collections.abc import Callable

from pyramid.httpexceptions import HTTPException
from pyramid.interfaces import IRoutesMapper
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
from benben.ratelimit.rules import LIMITS_KEY, ROUTE_GROUPS_KEY, RateLimits

__all__ = ["ratelimit_tween_factory"]

WRITE_GROUP = "write"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
EXEMPT_PREFIX = "/health/"

Handler = Callable[[Request], Response]


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
    buckets = [buckets_for(config, _route_group(request))]
    counts_as_write = request.method not in SAFE_METHODS and WRITE_GROUP in config.groups
    if counts_as_write and buckets[0][0] != WRITE_GROUP:
        buckets.append((WRITE_GROUP, config.groups[WRITE_GROUP]))
    request.environ[DECISIONS_ENVIRON_KEY] = count_against(request, key, buckets, 1)
    return credential_error


def ratelimit_tween_factory(handler: Handler, registry: Registry) -> Handler:
    config: RateLimits = registry[LIMITS_KEY]

    def ratelimit_tween(request: Request) -> Response:
        if request.path_info.startswith(EXEMPT_PREFIX):
            return handler(request)
        error = _count_this_request(request, config)
        decisions: list[Decision] = request.environ[DECISIONS_ENVIRON_KEY]
        if any(not d.allowed for d in decisions):
            return http_error_view(too_many(request, decisions), request)
        if isinstance(error, HTTPException):
            raise error
        if error is not None:  # rendered by its exception view (503 for the database)
            return request.invoke_exception_view((type(error), error, error.__traceback__))
        try:
            response = handler(request)
        except HTTPException as exc:
            response = http_error_view(exc, request) if exc.code >= 400 else exc
        if decisions:
            headers = headers_of(decisions)
            headers.pop("Retry-After", None)  # a 429 from count_request already carries its own
            response.headers.update(headers)
        return response

    return ratelimit_tween
