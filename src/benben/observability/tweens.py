"""The outermost tween: request id, request context for logs, the access log line, and a last
line of defence that turns any remaining error into problem+json."""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable

from pyramid.httpexceptions import HTTPException
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response

from benben.errors import http_error_view, problem_response
from benben.hardening.headers import set_headers
from benben.observability.context import request_context
from benben.observability.metrics import METRICS_PATH, get_metrics
from benben.observability.redact import QueryRedactor, get_redactor

access_log = logging.getLogger("benben.access")
log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# The environ outlives each pyramid_retry attempt's request: a retried request keeps its id.
REQUEST_ID_ENVIRON_KEY = "benben.request_id"
# A client's id is kept only if it cannot smuggle anything into logs or headers.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_REQUEST_ID_ENVIRON_HEADER = "HTTP_X_REQUEST_ID"  # read from the environ: WebOb's view costs more
# A path of these characters only is its own URL-quoted, UTF-8 form (WebOb's ``request.path``
# quotes all else): the usual path is then logged without decoding and quoting it again.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_.~/!$&'()*+,;=:@-]*")

Handler = Callable[[Request], Response]


def request_id_from(request: Request) -> str:
    """The client's ``X-Request-ID`` when it is sane, a new random id otherwise."""
    environ = request.environ
    known = environ.get(REQUEST_ID_ENVIRON_KEY)
    if known:
        return known
    given = environ.get(_REQUEST_ID_ENVIRON_HEADER, "")
    request_id = given if _SANE_REQUEST_ID.fullmatch(given) else _new_request_id()
    environ[REQUEST_ID_ENVIRON_KEY] = request_id
    return request_id


def _new_request_id() -> str:
    # 128 random bits, as uuid4 gives, without its system call per request: an id only has to
    # be unique (the random module is reseeded in forked workers), not unpredictable.
    return f"{random.getrandbits(128):032x}"


def safe_path(
    request: Request, with_query: bool = False, redactor: QueryRedactor | None = None
) -> str:
    """The request path for logs; a path that is not UTF-8 (``/%ff``) is shown as received.
    ``with_query``: with the query string as received, its secrets redacted (``redactor``, by
    default the app's)."""
    environ = request.environ
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    if not _PLAIN_PATH.fullmatch(path):
        try:
            path = request.path
        except UnicodeDecodeError:
            path = environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "") if with_query else ""
    if not query:  # the usual request: nothing to parse
        return path
    redactor = redactor or get_redactor(request.registry)
    return path + "?" + redactor.redact(query)


def _decodable_path(request: Request) -> bool:
    environ = request.environ
    if environ.get("PATH_INFO", "").isascii() and environ.get("SCRIPT_NAME", "").isascii():
        return True  # the usual path: ASCII is UTF-8
    try:
        request.path_info  # noqa: B018 - decoding it is the check
        request.script_name  # noqa: B018
    except UnicodeDecodeError:
        return False
    return True


def _set_request_id(response: Response, request_id: str) -> None:
    headerlist = response.headerlist
    if any(name.lower() == "x-request-id" for name, _ in headerlist):
        set_headers(response, {REQUEST_ID_HEADER: request_id})
    else:
        headerlist.append((REQUEST_ID_HEADER, request_id))


def observability_tween_factory(handler: Handler, registry: Registry) -> Handler:
    metrics = get_metrics(registry)
    redactor = get_redactor(registry)

    def observability_tween(request: Request) -> Response:
        started = time.perf_counter()
        request.request_id = request_id_from(request)
        context = {"request_id": request.request_id, "method": request.method,
                   "path": safe_path(request), "user": None}  # fmt: skip
        token = request_context.set(context)
        response = None
        # Scrapes are not counted: they would measure themselves.
        measured = metrics.enabled and request.environ.get("PATH_INFO") != METRICS_PATH
        if measured:
            metrics.request_started()
        try:
            try:
                if not _decodable_path(request):
                    # Everything below (routing, rate limits, views) reads the path as text.
                    response = problem_response(
                        request, 400, detail="The request path is not valid UTF-8."
                    )
                else:
                    response = handler(request)
            except HTTPException as exc:
                response = http_error_view(exc, request) if exc.code >= 400 else exc
            except Exception:
                log.exception("unhandled error outside the exception views")
                response = problem_response(
                    request,
                    500,
                    detail="An unexpected error occurred. Quote the request id when reporting it.",
                )
            if response.status_code >= 400 and isinstance(response, HTTPException):
                # A view *returned* an HTTP error instead of raising it.
                response = http_error_view(response, request)
            _set_request_id(response, request.request_id)
            return response
        finally:
            status = response.status_code if response is not None else 500
            elapsed = time.perf_counter() - started
            if measured:
                metrics.request_finished(request, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):  # off: not even the line's parts
                context["user"] = getattr(request, "benben_log_user", None)
                extra = {
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "remote_addr": request.client_addr,
                }
                attempt = request.environ.get("retry.attempt")
                if attempt:  # only retried attempts say so: the usual line stays short
                    extra["attempt"] = attempt + 1
                access_log.info(
                    "%s %s %s",
                    request.method,
                    safe_path(request, True, redactor),
                    status,
                    extra=extra,
                )
            request_context.reset(token)

    return observability_tween
