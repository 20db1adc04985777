"""One HTTP attempt at a webhook, outside of any database transaction: what happened.

The target is resolved and checked by the SSRF guard (:mod:`.ssrf`), then the body is POSTed to
the checked address.  Nothing is followed (a 3xx is a failure), the attempt as a whole is bounded
by the timeout, and only the start of the response body is read (``response_log_bytes``: kept
in the delivery log).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError

from .schedule import retry_after_seconds
from .ssrf import Network, Resolver, TargetRefusedError, connection_pool, parse_target, resolve

__all__ = ["ERROR_LENGTH", "USER_AGENT", "Outcome", "send"]

USER_AGENT = "Benben-Webhooks/1"
ERROR_LENGTH = 500  # the delivery log's error column


@dataclass(frozen=True)
class Outcome:
    """An attempt's result: a status code (None when no answer came), or an error."""

    status_code: int | None
    latency_ms: int
    error: str | None = None
    response_body: str | None = None
    retry_after: float | None = None  # seconds, from a 429's or 5xx's Retry-After

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        """410 Gone: the receiver says this endpoint is no more (it is then disabled)."""
        return self.status_code == 410


def send(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    allowed_networks: Iterable[Network] = (),
    allow_http: bool = False,
    response_log_bytes: int = 2048,
    resolver: Resolver | None = None,
) -> Outcome:
    """POST ``body`` to ``url`` once; never raises for what the network or receiver does."""
    started = time.monotonic()
    deadline = started + timeout

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    allowed = tuple(allowed_networks)
    try:
        target = parse_target(url)
        addresses = resolve(target.host, target.port, allowed, resolver)
        if target.scheme == "http" and not allow_http:
            inside = all(any(a in network for network in allowed) for a in addresses)
            if not inside:
                raise TargetRefusedError("plain http:// is sent only inside allowed_networks")
    except TargetRefusedError as refused:
        return Outcome(None, elapsed(), error=_short(f"refused: {refused.reason}"))
    request_headers = {
        **headers,
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    error = "no address to connect to"
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            error = "timed out"
            break
        pool = connection_pool(target, address)
        try:
            response = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers=request_headers,
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
                release_conn=False,
                timeout=urllib3.Timeout(connect=remaining, read=remaining),
            )
        except (NewConnectionError, ConnectTimeoutError) as exc:
            error = _describe(exc)
            continue  # nothing was sent: the next address may answer
        except (HTTPError, OSError) as exc:
            return Outcome(None, elapsed(), error=_short(_describe(exc)))
        return _outcome(response, started, deadline, response_log_bytes)
    return Outcome(None, elapsed(), error=_short(error))


def _outcome(
    response: urllib3.BaseHTTPResponse, started: float, deadline: float, log_bytes: int
) -> Outcome:
    status = response.status
    text, error = _read_start(response, deadline, log_bytes)
    latency = int((time.monotonic() - started) * 1000)
    retry_after = None
    if status == 429 or status >= 500:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if 300 <= status < 400 and error is None:
        location = response.headers.get("Location") or "nowhere"
        error = f"redirect to {location} not followed"
    return Outcome(status, latency, _short(error), text, retry_after)


def _read_start(
    response: urllib3.BaseHTTPResponse, deadline: float, limit: int
) -> tuple[str | None, str | None]:
    """The first ``limit`` bytes of the body (decoded leniently), read before the deadline; the
    connection is kept only when the whole body was read."""
    chunks: list[bytes] = []
    size = 0
    finished = False
    error = None
    try:
        while size <= limit and time.monotonic() < deadline:
            chunk = response.read(min(8192, limit + 1 - size) or 1, decode_content=True)
            if not chunk:
                finished = True
                break
            chunks.append(chunk)
            size += len(chunk)
    except (HTTPError, OSError) as exc:
        error = f"reading the response: {_describe(exc)}"
    if finished:
        response.release_conn()
    else:
        response.close()  # unread bytes: this connection cannot serve another request
    data = b"".join(chunks)[:limit]
    return (data.decode("utf-8", "replace") if limit else None), error


def _describe(exc: BaseException) -> str:
    # NewConnectionError is a ConnectTimeoutError to urllib3: asked first.
    if isinstance(exc, NewConnectionError):
        reason = exc.__cause__ or exc.__context__ or exc
        return f"could not connect: {reason}"
    if isinstance(exc, ConnectTimeoutError | TimeoutError) or "timed out" in str(exc):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


def _short(text: str | None) -> str | None:
    return text if text is None or len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 1] + "…"
