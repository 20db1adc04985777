"""A Redis subscription's messages, read straight off its socket without releasing the GIL.

Under a stream of writes, a request often finds announcements waiting on the version board's
subscription and must take them in before answering (see :mod:`.near`).  Through redis-py's
``get_message`` that costs seven system calls (polls, a peek, switching the socket to
non-blocking and back, the read), each releasing the GIL.  The bytes are already in the socket,
so one non-blocking ``recv`` made through ``ctypes.PyDLL`` (which keeps the GIL, see
:mod:`.peek`) reads them, and hiredis parses them.

This reader serves plain TCP and Unix sockets.  A TLS socket's bytes must go through its SSL
object, and without hiredis there is no parser to feed: :meth:`SocketMessages.over` answers None
and the board keeps using redis-py.

redis-py's health check expects to read the answer to its PING itself, so it cannot run here;
:meth:`SocketMessages.keep_alive` pings after a silence and gives up on an unanswered ping.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from benben.cache.peek import libc_recv

__all__ = ["SocketMessages"]

_CHUNK = 65536


class SocketMessages:
    """Parses what a subscribed socket has received; never waits for more."""

    def __init__(self, sock: socket.socket, recv: Any, reader: Any) -> None:
        self._fd = sock.fileno()
        self._recv = recv
        self._reader = reader
        self._buffer = ctypes.create_string_buffer(_CHUNK)
        self._flags = socket.MSG_DONTWAIT
        self._received_at = time.monotonic()
        self._pinged_at: float | None = None

    @classmethod
    def over(cls, sock: Any) -> SocketMessages | None:
        """A reader for ``sock``, or None where it cannot be read this way."""
        # SSLSocket subclasses socket.socket: compare the type itself.
        recv = libc_recv()
        if type(sock) is not socket.socket or recv is None:
            return None
        try:
            import hiredis
        except ImportError:
            return None
        return cls(sock, recv, hiredis.Reader())

    def read(self) -> list[dict[str, Any]]:
        """Every message already received, as redis-py's ``get_message`` gives them.

        Raises ``ConnectionError`` when the server closed the connection or it failed.
        """
        while True:
            count = self._recv(self._fd, self._buffer, _CHUNK, self._flags)
            if count > 0:
                self._reader.feed(self._buffer, 0, count)
                if count < _CHUNK:
                    break
                continue
            if count == 0:
                raise ConnectionError("Redis closed the subscription")
            code = ctypes.get_errno()
            if code in (errno.EAGAIN, errno.EWOULDBLOCK):
                break
            raise ConnectionError(f"reading the subscription failed: {os.strerror(code)}")
        messages = []
        while (reply := self._reader.gets()) is not False:
            if isinstance(reply, list) and len(reply) == 3:  # [kind, channel, data]
                kind = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
                messages.append({"type": kind, "channel": reply[1], "data": reply[2]})
            # Anything else (a PING's answer, an error reply) is no announcement.
            self._received_at = time.monotonic()
        return messages

    def keep_alive(self, send_ping: Callable[[], None], interval: float) -> None:
        """Ping after ``interval`` seconds without a message; raise ``ConnectionError`` if the
        ping then goes unanswered for ``interval`` seconds (a connection dropped silently)."""
        now = time.monotonic()
        if self._pinged_at is not None:
            if self._received_at >= self._pinged_at:
                self._pinged_at = None
            elif now - self._pinged_at > interval:
                raise ConnectionError(f"Redis did not answer a PING within {interval:g}s")
            return
        if now - self._received_at >= interval:
            send_ping()
            self._pinged_at = now
