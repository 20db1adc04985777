"""Server-Sent Events frames (the WHATWG HTML "event stream" format), as bytes ready to send.

A frame is a few ``field: value`` lines ended by a blank line. A value may not hold CR or LF (a
client would read the rest as another field), so multi-line data goes out as several ``data:``
lines, which the client joins back with LF.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["END_EVENT", "PING", "end_frame", "frame"]

END_EVENT = "end"


def _field(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"SSE field {name!r} must not contain CR or LF: {value!r}")
    return f"{name}: {value}\n" if value else f"{name}:\n"


def frame(
    data: str | None = None,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """One frame: ``comment`` lines, then ``event``, ``id``, ``retry`` and ``data`` (one line per
    line of data: CRLF, CR and LF all split it, as a client would), then a blank line."""
    lines: list[str] = []
    if comment is not None:
        lines.extend(f": {line}\n" if line else ":\n" for line in _split(comment))
    if event is not None:
        lines.append(_field("event", event))
    if id is not None:
        if "\0" in id:  # a client ignores an id with NUL: the reconnection would lose its place
            raise ValueError(f"SSE id must not contain NUL: {id!r}")
        lines.append(_field("id", id))
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise ValueError(f"SSE retry must be a non-negative integer (ms), not {retry!r}")
        lines.append(f"retry: {retry}\n")
    if data is not None:
        lines.extend(_field("data", line) for line in _split(data))
    lines.append("\n")
    return "".join(lines).encode()


def _split(text: str) -> list[str]:
    # str.splitlines() also splits on VT, FF, U+2028...: an event stream splits on CR/LF only.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def end_frame(reason: str, **fields: Any) -> bytes:
    """The stream's last frame: ``event: end``, data ``{"reason": reason, ...fields}``."""
    return frame(json.dumps({"reason": reason, **fields}, separators=(",", ":")), event=END_EVENT)


# What the transport sends on a stream silent for its heartbeat interval: proxies and clients
# see bytes flow, EventSource ignores it.
PING = frame(comment="ping")
