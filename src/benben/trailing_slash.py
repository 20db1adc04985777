"""The trailing slash a client gets wrong: ``/api/v1`` for ``/api/v1/``, ``/api/v1/collections/``
for ``/api/v1/collections``.

A request that no route matches is redirected to the same path with its final slash added or
removed, when a route matches that path, with ``308 Permanent Redirect`` (a client repeats the
method and the body: a POST stays a POST) and the query string kept.  Anything else is the usual
404 problem.  One exception view, so that every route, plugins' included, gets the same rule.

No loop is possible: the redirect goes only to a path that a route without predicates matches,
so the redirected request always matches a route and never comes back here.  No other host is
possible either: the ``Location`` is this request's own path, and a path starting with ``//``
(which a client would read as another host) is never a target.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPNotFound
from pyramid.interfaces import IRoute, IRoutesMapper
from pyramid.request import Request
from pyramid.response import Response

from benben.errors import http_error_view

__all__ = ["other_slash_form", "slash_redirect_view"]


def other_slash_form(path_info: str, routes: Iterable[IRoute]) -> str | None:
    """``path_info`` with its final slash added or removed, when a route without predicates
    matches that; else None."""
    target = path_info[:-1] if path_info.endswith("/") else path_info + "/"
    if not target.startswith("/") or target.startswith("//"):
        return None  # "" (from "/"), or a path a client would take for another host
    for route in routes:
        # A route with predicates (request method, header...) may refuse the redirected request
        # too, which could then be sent back here: such routes are never redirect targets.
        if not route.predicates and route.match(target) is not None:
            return target
    return None


def slash_redirect_view(exc: HTTPNotFound, request: Request) -> Response:
    if getattr(request, "matched_route", None) is None:  # no route matched: not a view's 404
        mapper = request.registry.queryUtility(IRoutesMapper)
        try:
            target = other_slash_form(request.path_info, mapper.get_routes() if mapper else ())
        except UnicodeDecodeError:  # a path that is not UTF-8 matches no route either way
            target = None
        if target is not None:
            path = request.path  # percent-encoded, with the script name
            location = path[:-1] if path.endswith("/") else path + "/"
            if request.query_string:
                location += "?" + request.query_string
            return Response(status=308, headers={"Location": location})
    return http_error_view(exc, request)


def includeme(config: Configurator) -> None:
    config.add_exception_view(slash_redirect_view, context=HTTPNotFound)
