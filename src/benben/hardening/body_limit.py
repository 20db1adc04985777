"""The request body size limit: a body larger than ``benben.security.max_body_size`` is refused.

``body_limit_tween_factory`` (under rate limits, over pyramid_tm) answers it with a 413 problem.
The size is checked earlier, around the execution policy (pyramid_retry copies the body before
any tween): by ``Content-Length`` before anything is read, and a body of unknown length (chunked)
by reading at most the limit plus one byte.  A refused body is dropped; an accepted chunked one
is handed on buffered, with its ``Content-Length`` set.

``config.add_body_limit(path_pattern, limit)`` gives the paths matching a regular expression
their own limit (uploads).  Their bodies are never buffered here (a body of unknown length is the
view's to count as it streams it), and one that the server already holds in a seekable file
(waitress spools every large body) is not copied again for pyramid_retry: it is rewound.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.interfaces import IExecutionPolicy
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.router import default_execution_policy

from benben.errors import TOO_LARGE_TITLE, TOO_LARGE_TYPE, problem_response

__all__ = ["body_limit_tween_factory", "guarded_execution_policy", "read_limited"]

CHUNK = 64 * 1024
BODY_CHECKED_KEY = "benben.body_checked"
BODY_PROBLEM_KEY = "benben.body_problem"
BODY_LIMIT_KEY = "benben.body_limit"
PATH_LIMITS_KEY = "benben.hardening.path_body_limits"

Handler = Callable[[Request], Response]
ExecutionPolicy = Callable[[dict[str, Any], Any], Any]


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


PathLimits = tuple[tuple[re.Pattern[str], int], ...]


def _path_limit(environ: Mapping[str, Any], path_limits: PathLimits) -> int | None:
    path = environ.get("PATH_INFO", "")
    for pattern, limit in path_limits:
        if pattern.fullmatch(path):
            return limit
    return None


def _rewind_instead_of_copy(environ: dict[str, Any]) -> None:
    """Let WebOb (and so pyramid_retry) rewind a body the server holds in a seekable file rather
    than copy it: an upload of a gigabyte is not written to disk twice."""
    stream = environ.get("wsgi.input")
    try:
        if stream is None or not stream.seekable() or stream.tell() != 0:
            return
    except (AttributeError, OSError, ValueError):
        return
    if str(environ.get("CONTENT_LENGTH") or "").strip().isdigit():
        environ["webob.is_body_seekable"] = True


def guard_body(environ: dict[str, Any], limit: int, path_limits: PathLimits = ()) -> None:
    """Check the body's size before anything reads it; idempotent.

    A refused body is replaced by an empty one (nothing downstream may read it) and the reason
    recorded in ``environ[BODY_PROBLEM_KEY]`` for the body-limit tween to answer.
    """
    if environ.get(BODY_CHECKED_KEY):
        return
    environ[BODY_CHECKED_KEY] = True
    own_limit = _path_limit(environ, path_limits) if path_limits else None
    if own_limit is not None:
        limit = own_limit
        _rewind_instead_of_copy(environ)
    environ[BODY_LIMIT_KEY] = limit
    length = environ.get("CONTENT_LENGTH")
    if length not in (None, ""):
        text = str(length).strip()
        problem = None if text.isdigit() else "invalid"
        if problem is None and int(text) > limit:
            problem = "too_large"
    elif own_limit is not None:
        problem = None  # streamed by the view, which counts what it reads
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


def guarded_execution_policy(
    policy: ExecutionPolicy, limit: int, path_limits: Callable[[], PathLimits] = tuple
) -> ExecutionPolicy:
    """Wrap the execution policy: pyramid_retry's copies the whole body (to replay it) before any
    tween runs, so the size must be checked before that."""

    def execution_policy(environ: dict[str, Any], router: Any) -> Any:
        guard_body(environ, limit, path_limits())
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
        # In case another execution policy replaced ours:
        guard_body(request.environ, limit, registry.get(PATH_LIMITS_KEY, ()))
        problem = request.environ.get(BODY_PROBLEM_KEY)
        if problem == "too_large":
            return _too_large(request, request.environ.get(BODY_LIMIT_KEY, limit))
        if problem == "invalid":
            return problem_response(
                request, 400, detail="The Content-Length header is not a number of bytes."
            )
        return handler(request)

    return body_limit_tween


def add_body_limit(config: Configurator, path_pattern: str, limit: int) -> None:
    """Bodies of requests whose path (``PATH_INFO``) matches the regular expression
    ``path_pattern`` (whole) are limited to ``limit`` bytes instead of
    ``benben.security.max_body_size``.  A body of unknown length is not buffered for them: the
    view must count what it reads.  The first matching pattern wins."""
    try:
        pattern = re.compile(path_pattern)
    except re.error as exc:
        message = f"add_body_limit: {path_pattern!r} is not a regular expression: {exc}"
        raise ConfigurationError(message) from None
    if not isinstance(limit, int) or limit < 0:
        raise ConfigurationError(f"add_body_limit: {limit!r} is not a number of bytes")
    registry = config.registry

    def register() -> None:
        registry[PATH_LIMITS_KEY] = (*registry.get(PATH_LIMITS_KEY, ()), (pattern, limit))

    intr = config.introspectable("benben body limits", path_pattern, path_pattern, "body limit")
    intr.update(path_pattern=path_pattern, limit=limit)
    config.action(("benben.body_limit", path_pattern), register, introspectables=(intr,))


def includeme(config: Configurator) -> None:
    registry = config.registry
    limit = int(config.get_settings()["benben.security.max_body_size"])
    config.add_directive("add_body_limit", add_body_limit)

    def path_limits() -> PathLimits:
        limits: PathLimits = registry.get(PATH_LIMITS_KEY, ())
        return limits

    def guard_execution_policy() -> None:
        policy = registry.queryUtility(IExecutionPolicy, default=default_execution_policy)
        registry.registerUtility(
            guarded_execution_policy(policy, limit, path_limits), IExecutionPolicy
        )

    # After pyramid_retry's policy is registered (order 0), in the same commit.
    config.action(None, guard_execution_policy, order=1)
    config.add_tween(
        "benben.hardening.body_limit.body_limit_tween_factory",
        under=(
            "benben.ratelimit.tween.ratelimit_tween_factory",
            "benben.hardening.proxies.proxies_tween_factory",
            "benben.observability.tweens.observability_tween_factory",
        ),
        over="pyramid_tm.tm_tween_factory",
    )
