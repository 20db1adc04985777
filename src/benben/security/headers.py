"""Security headers on every response, and the request body size limit.

Two tweens:

- ``security_headers_tween_factory`` is the outermost (over the observability tween, which turns
  every error into a response), so that 404s, 429s and last-resort 500s carry the headers too.
  A view may set its own ``Content-Security-Policy`` or ``Cache-Control``; the others are fixed.
- ``body_limit_tween_factory`` (under rate limits, over pyramid_tm) answers a body larger than
  ``benben.security.max_body_size`` with a 413 problem.  The size is checked earlier, around the
  execution policy (pyramid_retry copies the body before any tween): by ``Content-Length``
  before anything is read, and a body of unknown length (chunked) by reading at most the limit
  plus one byte.  A refused body is dropped; an accepted chunked one is handed on buffered, with
  its ``Content-Length`` set.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping
from typing import Any

from pyramid.config import Configurator
from pyramid.interfaces import IExecutionPolicy
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.router import default_execution_policy
from pyramid.tweens import INGRESS

from benben.errors import TOO_LARGE_TITLE, TOO_LARGE_TYPE, problem_response

__all__ = ["body_limit_tween_factory", "read_limited", "security_headers_tween_factory"]

# APIs and problem documents load nothing and may not be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# HTML pages (API docs, setup page) load their own scripts, styles and images only.
HTML_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
CHUNK = 64 * 1024
BODY_CHECKED_KEY = "benben.body_checked"
BODY_PROBLEM_KEY = "benben.body_problem"

log = logging.getLogger(__name__)

Handler = Callable[[Request], Response]
ExecutionPolicy = Callable[[dict[str, Any], Any], Any]


def set_headers(response: Response, headers: Mapping[str, str]) -> None:
    """``response.headers.update(headers)``, appending those not set yet.  WebOb's header view
    scans the whole list to replace each name; every response gets half a dozen of these."""
    present = {name.lower() for name, _ in response.headerlist}
    for name, value in headers.items():
        if name.lower() in present:
            response.headers[name] = value
        else:
            response.headerlist.append((name, value))


def security_headers(request: Request, response: Response, hsts_max_age: int) -> Mapping[str, str]:
    """The headers to set on ``response`` (those a view may choose are left when it did)."""
    headers = dict(FIXED_HEADERS)
    if "Content-Security-Policy" not in response.headers:
        html = (response.content_type or "").lower() in ("text/html", "application/xhtml+xml")
        headers["Content-Security-Policy"] = HTML_CSP if html else API_CSP
    if hsts_max_age > 0:
        headers["Strict-Transport-Security"] = f"max-age={hsts_max_age}; includeSubDomains"
    if request.environ.get("HTTP_AUTHORIZATION") and "Cache-Control" not in response.headers:
        # An answer computed for one credential must not be kept by a shared cache.
        headers["Cache-Control"] = "no-store"
    return headers


def security_headers_tween_factory(handler: Handler, registry: Registry) -> Handler:
    hsts_max_age = int(registry.settings["benben.security.hsts_max_age"])

    def security_headers_tween(request: Request) -> Response:
        try:
            response = handler(request)
        except UnicodeDecodeError:
            # A path or query that is not UTF-8 fails wherever it is first read, possibly in a
            # tween before the exception views; it is the client's error.
            response = problem_response(request, 400, detail="The request URL is not valid UTF-8.")
        except Exception:
            # Outermost tween: nothing above turns an error into a response but the server.
            log.exception("unhandled error in a tween")
            response = problem_response(request, 500, detail="An unexpected error occurred.")
        set_headers(response, security_headers(request, response, hsts_max_age))
        return response

    return security_headers_tween


def _too_large(request: Request, limit: int) -> Response:
    return problem_response(
        request,
        413,
        type=TOO_LARGE_TYPE,
        title=TOO_LARGE_TITLE,
        detail=f"The request body is larger than the {limit} bytes accepted.",
        max_body_size=limit,
    )


def _has_unsized_body(environ: Mapping[str, Any]) -> bool:
    if environ.get("wsgi.input") is None:
        return False
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked or bool(environ.get("wsgi.input_terminated"))


def read_limited(stream: Any, limit: int) -> bytes | None:
    """At most ``limit`` bytes of ``stream``; None when it holds more."""
    buffer = bytearray()
    while len(buffer) <= limit:
        chunk = stream.read(min(CHUNK, limit + 1 - len(buffer)))
        if not chunk:
            return bytes(buffer)
        buffer.extend(chunk)
    return None


def _replace_body(environ: dict[str, Any], body: bytes) -> None:
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ.pop("wsgi.input_terminated", None)


def guard_body(environ: dict[str, Any], limit: int) -> None:
    """Check the body's size before anything reads it; idempotent.

    A refused body is replaced by an empty one (nothing downstream may read it) and the reason
    recorded in ``environ[BODY_PROBLEM_KEY]`` for the body-limit tween to answer.
    """
    if environ.get(BODY_CHECKED_KEY):
        return
    environ[BODY_CHECKED_KEY] = True
    length = environ.get("CONTENT_LENGTH")
    if length not in (None, ""):
        text = str(length).strip()
        problem = None if text.isdigit() else "invalid"
        if problem is None and int(text) > limit:
            problem = "too_large"
    elif _has_unsized_body(environ):
        body = read_limited(environ["wsgi.input"], limit)
        if body is not None:
            # What is left for the app is a body of known size.
            _replace_body(environ, body)
        problem = "too_large" if body is None else None
    else:
        problem = None
    if problem is not None:
        environ[BODY_PROBLEM_KEY] = problem
        _replace_body(environ, b"")


def guarded_execution_policy(policy: ExecutionPolicy, limit: int) -> ExecutionPolicy:
    """Wrap the execution policy: pyramid_retry's copies the whole body (to replay it) before any
    tween runs, so the size must be checked before that."""

    def execution_policy(environ: dict[str, Any], router: Any) -> Any:
        guard_body(environ, limit)
        received = environ.get("wsgi.input")
        try:
            return policy(environ, router)
        finally:
            # A body over 10 KB is copied by WebOb into a temporary file (to replay it) that
            # nothing closes: close it now, rather than leave the descriptor to the collector.
            copy = environ.get("wsgi.input")
            if copy is not received and hasattr(copy, "close"):
                copy.close()

    return execution_policy


def body_limit_tween_factory(handler: Handler, registry: Registry) -> Handler:
    limit = int(registry.settings["benben.security.max_body_size"])

    def body_limit_tween(request: Request) -> Response:
        guard_body(request.environ, limit)  # in case another execution policy replaced ours
        problem = request.environ.get(BODY_PROBLEM_KEY)
        if problem == "too_large":
            return _too_large(request, limit)
        if problem == "invalid":
            return problem_response(
                request, 400, detail="The Content-Length header is not a number of bytes."
            )
        return handler(request)

    return body_limit_tween


def includeme(config: Configurator) -> None:
    registry = config.registry
    limit = int(config.get_settings()["benben.security.max_body_size"])

    def guard_execution_policy() -> None:
        policy = registry.queryUtility(IExecutionPolicy, default=default_execution_policy)
        registry.registerUtility(guarded_execution_policy(policy, limit), IExecutionPolicy)

    # After pyramid_retry's policy is registered (order 0), in the same commit.
    config.action(None, guard_execution_policy, order=1)
    config.add_tween(
        "benben.security.headers.security_headers_tween_factory",
        under=INGRESS,
        over="benben.observability.tweens.observability_tween_factory",
    )
    config.add_tween(
        "benben.security.headers.body_limit_tween_factory",
        under=(
            "benben.security.ratelimit.ratelimit_tween_factory",
            "benben.security.proxies.proxies_tween_factory",
            "benben.observability.tweens.observability_tween_factory",
        ),
        over="pyramid_tm.tm_tween_factory",
    )
