"""Stream: one subscriber's outgoing bytes, fed from any thread, written by the transport.

Producers (the feed dispatcher, a view replaying the past) ``push`` frames from their own
threads; the hub (:mod:`benben.realtime.hub`) writes them to the client's socket on its event
loop, or, under another WSGI server, iterating the stream yields them in the thread that serves
the response. What is queued and not yet accepted by the kernel is bounded by ``max_buffered``:
a client that reads too slowly is dropped with a final ``end`` frame (reason
``"slow-consumer"``), never buffered for without end.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Protocol

from benben.realtime.sse import PING, end_frame

__all__ = [
    "CLIENT_GONE",
    "SHUTDOWN",
    "SLOW_CONSUMER",
    "Stream",
]

log = logging.getLogger(__name__)

# The reasons the transport itself closes a stream with (the lead's code adds its own).
SLOW_CONSUMER = "slow-consumer"
CLIENT_GONE = "client-gone"
SHUTDOWN = "shutdown"


class Writer(Protocol):
    """What a stream tells when it has bytes or a close to write: the hub, once it adopted it."""

    def wake(self, stream: Stream) -> None: ...


class Stream:
    """One subscriber's outgoing bytes. Thread-safe; see the module's docstring."""

    def __init__(self, *, max_buffered: int, heartbeat_seconds: float) -> None:
        if max_buffered < 1:
            raise ValueError(f"max_buffered must be positive, not {max_buffered!r}")
        if heartbeat_seconds <= 0:
            raise ValueError(f"heartbeat_seconds must be positive, not {heartbeat_seconds!r}")
        self.max_buffered = max_buffered
        self.heartbeat_seconds = heartbeat_seconds
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)  # the fallback iterator waits on it
        self._chunks: deque[bytes] = deque()
        self._queued = 0  # bytes in _chunks
        self._in_flight = 0  # bytes the writer took and the kernel has not accepted yet
        self._closed = False
        self._reason: str | None = None
        self._callbacks: list[Callable[[str], None]] = []
        self._writer: Writer | None = None
        self._iterated = False  # the fallback transport waits on _ready: pushes must notify

    # -- producers' side ------------------------------------------------------------------------

    def push(self, data: bytes) -> bool:
        """Queue ``data`` after what is queued. False when the stream is closed, or is closed
        now because ``data`` would take the unsent bytes past ``max_buffered``."""
        with self._lock:
            if self._closed:
                return False
            if self._queued + self._in_flight + len(data) > self.max_buffered:
                overflow = True
            else:
                overflow = False
                self._append(data)
            writer = self._writer
        if overflow:
            self.close(SLOW_CONSUMER, end_frame(SLOW_CONSUMER))
            return False
        if writer is not None:
            writer.wake(self)
        return True

    def close(self, reason: str, final: bytes = b"") -> None:
        """Send ``final`` after what is queued, then close the connection. Idempotent: the first
        call's reason stays."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._reason = reason
            if final:
                self._append(final)
            self._ready.notify_all()
            writer = self._writer
            callbacks, self._callbacks = self._callbacks, []
        if writer is not None:
            writer.wake(self)
        for callback in callbacks:
            self._run(callback, reason)

    def on_close(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(reason)`` once the stream closes (at once if it is closed)."""
        with self._lock:
            if not self._closed:
                self._callbacks.append(callback)
                return
            reason = self._reason
        assert reason is not None
        self._run(callback, reason)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def close_reason(self) -> str | None:
        return self._reason

    @property
    def buffered(self) -> int:
        """Bytes queued and not yet handed to the kernel (the transport's own buffer counts)."""
        return self._queued + self._in_flight

    # -- the transport's side -------------------------------------------------------------------

    def attach(self, writer: Writer) -> None:
        """From now on ``writer.wake(self)`` is called whenever there is something to write."""
        with self._lock:
            self._writer = writer
        writer.wake(self)

    def take(self) -> bytes:
        """What is queued, now the writer's (counted as in flight until :meth:`sent`)."""
        with self._lock:
            if not self._chunks:
                return b""
            data = b"".join(self._chunks)
            self._chunks.clear()
            self._in_flight += self._queued
            self._queued = 0
            return data

    def sent(self, count: int) -> None:
        """The kernel accepted ``count`` bytes of those taken. The writer's thread alone changes
        the bytes in flight (take, sent, discard): no lock, producers read a moment's value."""
        self._in_flight -= count

    def discard(self) -> None:
        """Nothing queued or in flight will be written (the connection is gone)."""
        with self._lock:
            self._chunks.clear()
            self._queued = self._in_flight = 0

    @property
    def drained(self) -> bool:
        """Closed, and every byte written."""
        return self._closed and not self._queued and not self._in_flight

    def __iter__(self) -> Iterator[bytes]:
        """The fallback transport: the bytes as they come, a ping after ``heartbeat_seconds`` of
        silence, until the stream is closed and its last bytes yielded. Blocks the thread."""
        with self._lock:
            self._iterated = True
        while True:
            with self._lock:
                if not self._chunks and not self._closed:
                    self._ready.wait(self.heartbeat_seconds)
                if self._chunks:
                    data = b"".join(self._chunks)
                    self._chunks.clear()
                    self._queued = 0
                elif self._closed:
                    return
                else:
                    data = PING
            yield data

    def _append(self, data: bytes) -> None:
        if data:
            self._chunks.append(data)
            self._queued += len(data)
            if self._iterated:  # Condition.notify costs more than the append: only if waited on
                self._ready.notify()

    def _run(self, callback: Callable[[str], None], reason: str) -> None:
        try:
            callback(reason)
        except Exception:  # one subscriber's bookkeeping must not stop the others' closing
            log.exception("stream close callback %r failed", callback)

    def __repr__(self) -> str:
        state = f"closed {self._reason!r}" if self._closed else "open"
        return f"<Stream {state}, {self.buffered} bytes buffered>"
