"""Test helpers for event streams (for plugin authors too): a WSGI app served by waitress with
the stream hand-off of ``benben serve``, and a small blocking Server-Sent-Events client.

    with serve_streaming(app) as base_url:
        client = open_sse(base_url + "/api/v1/changes", headers={"Authorization": ...})
        assert client.status == 200
        event = client.next_event(timeout=5)  # {"event": ..., "id": ..., "data": ..., "retry": ...}
        client.close()
"""

from __future__ import annotations

import codecs
import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from waitress import wasyncore
from waitress.server import create_server

from benben.realtime.streaming_channel import install_streaming

__all__ = ["SSEClient", "open_sse", "serve_streaming"]

LOOP_TURN = 0.2  # seconds: how long the server's loop waits before it checks for a stop


@contextlib.contextmanager
def serve_streaming(app: Any, *, threads: int = 4, **options: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:<a free port> in a background thread, streams handed off as
    under ``benben serve``; yields the base URL (``http://127.0.0.1:<port>``). At exit every
    stream ends (``end`` frame, reason ``"shutdown"``), then the server closes every socket.
    ``options`` are waitress's."""
    channels: dict[int, Any] = {}
    server = create_server(app, map=channels, host="127.0.0.1", port=0, threads=threads, **options)
    hub = install_streaming(server)
    stopping = threading.Event()

    def loop() -> None:
        while not stopping.is_set():
            wasyncore.loop(timeout=LOOP_TURN, map=channels, use_poll=True, count=1)

    thread = threading.Thread(target=loop, name="serve-streaming", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        hub.stop()
        stopping.set()
        server.pull_trigger()
        thread.join(5)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        wasyncore.close_all(channels)


class SSEClient:
    """A blocking event-stream reader over one HTTP/1.1 connection (see :func:`open_sse`)."""

    def __init__(self, sock: socket.socket, status: int, headers: dict[str, str], rest: bytes):
        self.sock = sock
        self.status = status
        self.headers = headers  # names lower-cased
        self._chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        self._raw = rest  # received, not yet decoded (chunked framing)
        self._text = ""  # decoded, not yet parsed into events
        self._utf8 = codecs.getincrementaldecoder("utf-8")()  # a character may span two reads
        self._eof = False
        self._decode()  # the body's start may have come with the head

    def next_event(self, timeout: float = 5.0, *, comments: bool = False) -> dict[str, Any]:
        """The next event: ``{"event", "id", "data", "retry"}`` (None for a field it lacks), or
        with ``comments`` a comment as ``{"comment": text}``. Raises TimeoutError when none
        comes in ``timeout`` seconds, EOFError once the server has closed the stream."""
        deadline = time.monotonic() + timeout
        fields: dict[str, Any] = {"event": None, "id": None, "data": None, "retry": None}
        seen = False
        while True:
            line = self._line(deadline)
            if line == "":
                if seen:
                    return fields
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if not name:
                if comments:
                    return {"comment": value}
                continue
            seen = True
            if name == "data":
                fields["data"] = value if fields["data"] is None else f"{fields['data']}\n{value}"
            elif name in ("event", "id"):
                fields[name] = value
            elif name == "retry" and value.isdigit():
                fields["retry"] = int(value)

    def events(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Every event until the server closes the stream (comments skipped)."""
        found = []
        deadline = time.monotonic() + timeout
        with contextlib.suppress(EOFError):
            while True:
                found.append(self.next_event(max(0.0, deadline - time.monotonic())))
        return found

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> SSEClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _line(self, deadline: float) -> str:
        while True:
            ends = [i for i in (self._text.find("\r"), self._text.find("\n")) if i >= 0]
            if ends:
                index = min(ends)
                width = 2 if self._text.startswith("\r\n", index) else 1
                # A CR last in what came so far may be the first half of a CRLF: wait for more.
                if not (self._text[index] == "\r" and index == len(self._text) - 1) or self._eof:
                    line, self._text = self._text[:index], self._text[index + width :]
                    return line
            elif self._eof:
                raise EOFError("the server closed the stream")
            self._receive(deadline)

    def _receive(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no event in time")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise TimeoutError("no event in time") from None
        except ConnectionError:
            data = b""
        if not data:
            self._eof = True
        self._raw += data
        self._decode()

    def _decode(self) -> None:
        if not self._chunked:
            self._text += self._utf8.decode(self._raw, final=self._eof)
            self._raw = b""
            return
        while True:  # chunked framing: the fallback mode of a waitress without the hand-off
            size_end = self._raw.find(b"\r\n")
            if size_end < 0:
                return
            size = int(self._raw[:size_end].split(b";")[0], 16)
            if size == 0:
                self._eof = True
                return
            end = size_end + 2 + size + 2
            if len(self._raw) < end:
                return
            self._text += self._utf8.decode(self._raw[size_end + 2 : end - 2])
            self._raw = self._raw[end:]


def open_sse(url: str, headers: Mapping[str, str] | None = None, timeout: float = 5.0) -> SSEClient:
    """``GET url`` as an event-stream client (``Accept: text/event-stream``), its response head
    read; the body is read by :meth:`SSEClient.next_event`."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout)
    request_headers = {"Host": parts.netloc, "Accept": "text/event-stream", **(headers or {})}
    head = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in request_headers.items())
    try:
        sock.sendall((head + "\r\n").encode("latin-1"))
        received = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in received:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("the server closed the connection before its response")
            received += data
    except BaseException:
        sock.close()
        raise
    head_bytes, _, rest = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
    response_headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        response_headers[name.strip().lower()] = value.strip()
    return SSEClient(sock, int(status_line.split()[1]), response_headers, rest)
