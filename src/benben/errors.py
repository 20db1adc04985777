"""RFC 9457 problem details for every error path.

Raised HTTP errors (Pyramid's own 404/403/405 included), Cornice validation failures, responses a
view returns as ``HTTPException`` and unexpected exceptions all leave as
``application/problem+json``.  A 500 never shows a traceback: it shows the request id, which is in
the log line that does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from pyramid.config import Configurator
from pyramid.exceptions import PredicateMismatch
from pyramid.httpexceptions import (
    HTTPError,
    HTTPException,
    HTTPInternalServerError,
    HTTPMethodNotAllowed,
    status_map,
)
from pyramid.request import Request
from pyramid.response import Response

__all__ = [
    "PROBLEM_JSON",
    "TOO_LARGE_TITLE",
    "TOO_LARGE_TYPE",
    "ProblemError",
    "cornice_error_handler",
    "invalid_input",
    "json_pointer",
    "problem_instance",
    "problem_response",
]

PROBLEM_JSON = "application/problem+json"
VALIDATION_TYPE = "urn:benben:problem:validation-error"
# Every 413 (a body over benben.security.max_body_size, record data over
# benben.data.max_record_size, a JSON Patch copying too much): one type, one title.
TOO_LARGE_TYPE = "urn:benben:problem:too-large"
TOO_LARGE_TITLE = "Content too large"
# What a path keeps unescaped in ``instance``: RFC 3986 pchar and "/".
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
log = logging.getLogger(__name__)

# Headers of an HTTP exception that a client still needs on the problem response.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Location", "ETag")


def json_pointer(*parts: Any) -> str:
    """RFC 6901 pointer from path parts: ``("data", "a/b")`` -> ``/data/a~1b``."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "".join("/" + part for part in escaped)


def problem_response(
    request: Request | None,
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type: str = "about:blank",
    errors: Iterable[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """An ``application/problem+json`` response; ``extensions`` become extra members."""
    reason = status_map[status].title if status in status_map else "Error"
    if status == 413 and type == "about:blank":
        type, reason = TOO_LARGE_TYPE, TOO_LARGE_TITLE
    body: dict[str, Any] = {"type": type, "title": title or reason, "status": status}
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = problem_instance(request)
        request_id = getattr(request, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    if errors is not None:
        body["errors"] = list(errors)
    body.update(extensions)
    response = Response(
        body=json.dumps(body, separators=(",", ":"), default=str).encode(),
        status=status,
        content_type=PROBLEM_JSON,
        charset=None,
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def invalid_input(
    errors: Iterable[Mapping[str, Any]], *, detail: str | None = None
) -> ProblemError:
    """The 400 problem refusing input: ``errors`` are ``{"location", "pointer" or "name",
    "message"}``, one per offending member, parameter or header; ``detail`` lists them."""
    errors = list(errors)
    if detail is None:
        detail = "; ".join(
            f"{e.get('pointer') or e.get('name') or e['location']}: {e['message']}"
            for e in errors[:20]
        )
    return ProblemError(
        400, title="Invalid request", type=VALIDATION_TYPE, detail=detail, errors=errors
    )


def problem_instance(request: Request) -> str:
    """The request's path as a URI reference: its raw bytes percent-encoded where they are not
    plain ASCII, so that a path that is not UTF-8 (``/%FF``) has an ``instance`` too."""
    environ = request.environ
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    try:
        raw = path.encode("latin-1")  # PEP 3333: the path's bytes, one character each
    except UnicodeEncodeError:  # set by a caller that is not a WSGI server: text
        raw = path.encode("utf-8", "surrogatepass")
    return quote(raw, safe=_PATH_SAFE)


class ProblemError(HTTPError):
    """Raise from services and views to answer with a specific problem.

    ``ProblemError(409, detail="...", errors=[...], type="urn:...")``.
    """

    def __init__(
        self,
        status: int,
        *,
        detail: str | None = None,
        title: str | None = None,
        type: str = "about:blank",
        errors: Iterable[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        self.code = status
        self.title = status_map.get(status, HTTPInternalServerError).title
        super().__init__(detail=detail)
        self.problem = {
            "detail": detail,
            "title": title,
            "type": type,
            "errors": list(errors) if errors is not None else None,
            "headers": dict(headers or {}),
            **extensions,
        }


def http_error_view(exc: HTTPException, request: Request) -> Response:
    if isinstance(exc, ProblemError):
        return problem_response(request, exc.code, **exc.problem)
    if isinstance(exc, PredicateMismatch):
        allowed = _allowed_methods(request)
        if allowed and request.method not in allowed:
            exc = HTTPMethodNotAllowed(headers={"Allow": ", ".join(allowed)})
    headers = {h: exc.headers[h] for h in _KEPT_HEADERS if h in exc.headers}
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else None
    if detail is None or exc.code in (404, 405):  # Pyramid's own details name internals
        detail = _default_detail(exc, request)
    return problem_response(request, exc.code, detail=detail, headers=headers)


def _default_detail(exc: HTTPException, request: Request) -> str | None:
    if exc.code == 404:
        return f"No resource at {request.path}."
    if exc.code == 405:
        allowed = exc.headers.get("Allow")
        suffix = f"; allowed: {allowed}" if allowed else ""
        return f"Method {request.method} is not allowed on {request.path}{suffix}."
    if exc.code == 403:
        return "You are not allowed to do this."
    return None


def _allowed_methods(request: Request) -> list[str]:
    """Methods the matched route has views for (cached per route), to turn a method mismatch
    into the 405 it is rather than Pyramid's 404."""
    route = getattr(request, "matched_route", None)
    if route is None:
        return []
    cache = request.registry.setdefault("benben.errors.allowed_methods", {})
    if route.name not in cache:
        methods: set[str] = set()
        for view in request.registry.introspector.get_category("views") or []:
            intr = view["introspectable"]
            if intr.get("route_name") == route.name:
                declared = intr.get("request_methods") or ()
                methods.update((declared,) if isinstance(declared, str) else declared)
        cache[route.name] = sorted(methods)
    return cache[route.name]


def _undecodable_query(request: Request) -> bool:
    try:
        unquote_to_bytes(request.query_string.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def unexpected_error_view(exc: Exception, request: Request) -> Response:
    # WebOb decodes the query string lazily, in whichever view first reads ``request.GET``:
    # telling a client's bad encoding apart from a bug here keeps every view free of the check.
    if isinstance(exc, UnicodeDecodeError) and _undecodable_query(request):
        return problem_response(
            request,
            400,
            title="Invalid request",
            type=VALIDATION_TYPE,
            detail="The query string is not UTF-8 once percent-decoded.",
            errors=[{"location": "querystring", "name": "", "message": "not UTF-8"}],
        )
    log.error("unhandled %s while serving %s %s", type(exc).__name__, request.method,
              request.path, exc_info=exc)  # fmt: skip
    return problem_response(
        request,
        500,
        detail="An unexpected error occurred. Quote the request id when reporting it.",
    )


def cornice_error_handler(request: Request) -> Response:
    """Cornice's ``request.errors`` as a 400 problem with a pointer for every problem."""
    errors = [_cornice_error(error) for error in request.errors]
    status = getattr(request.errors, "status", 400) or 400
    detail = "; ".join(f"{e['pointer'] or e['location']}: {e['message']}" for e in errors)
    return problem_response(
        request,
        status,
        title="Invalid request",
        type=VALIDATION_TYPE,
        detail=detail or None,
        errors=errors,
    )


def _cornice_error(error: Mapping[str, Any]) -> dict[str, Any]:
    name = error.get("name") or ""
    parts = [part for part in str(name).split(".") if part] if name else []
    return {
        "location": error.get("location") or "body",
        "pointer": json_pointer(*parts),
        "message": str(error.get("description") or "invalid value"),
    }


def includeme(config: Configurator) -> None:
    config.add_exception_view(http_error_view, context=HTTPError)
    config.add_exception_view(unexpected_error_view, context=Exception)
