"""The hub: one asyncio event loop thread per process that writes every handed-off stream.

A waitress worker thread computes a stream's response (authentication, permissions, the
transaction) and hands the connection over (:mod:`benben.realtime.streaming_channel`): from then
on the hub alone owns the socket. It writes the response head and the stream's bytes as they
come, with non-blocking ``send`` (what the kernel does not take waits in the stream's
accounting, bounded by its ``max_buffered``), reads and discards what the client sends so that
it notices the client leaving at once (``"client-gone"``), pings silent streams from one timer
for all of them, and on :meth:`Hub.stop` ends every stream with an ``end`` frame (reason
``"shutdown"``) so that clients reconnect to another instance.

Owned by the server ``benben serve`` (or :func:`benben.testing_streams.serve_streaming`) makes,
started by the first hand-off, stopped with the server; a forked child starts its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from benben.cache.after_fork import reset_in_child
from benben.realtime.sse import PING, end_frame
from benben.realtime.stream import CLIENT_GONE, SHUTDOWN, Stream

__all__ = ["Hub"]

log = logging.getLogger(__name__)

# Seconds a closed stream's last bytes may take to reach a client before its socket is aborted
# (a client that reads nothing must not hold the socket and the kernel's buffers for ever).
DRAIN_SECONDS = 5.0
# Seconds Hub.stop() gives the shutdown frames to reach the clients.
SHUTDOWN_SECONDS = 2.0
# The timer's longest period; shorter for streams with a shorter heartbeat (a quarter of it).
TICK_SECONDS = 1.0
MIN_TICK_SECONDS = 0.02
RECV_BYTES = 4096
NO_SIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)  # a closed peer: EPIPE, never SIGPIPE
ABORT = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() resets, discarding unsent bytes


@dataclass(eq=False)
class _Connection:
    stream: Stream
    sock: socket.socket
    out: bytes  # taken from the stream (after the head), not yet accepted by the kernel
    head_left: int  # bytes at the front of ``out`` that are the head, not the stream's
    last_write: float
    writing: bool = False  # a writer callback is registered (the kernel's buffer was full)
    finishing: bool = False  # everything sent, write side shut: waiting for the client's EOF
    deadline: float | None = None  # when a closed stream's socket is aborted
    fd: int = field(init=False)

    def __post_init__(self) -> None:
        self.fd = self.sock.fileno()


class Hub:
    """The process's stream writer; see the module's docstring. Thread-safe."""

    def __init__(
        self, *, drain_seconds: float = DRAIN_SECONDS, shutdown_seconds: float = SHUTDOWN_SECONDS
    ) -> None:
        self.drain_seconds = drain_seconds
        self.shutdown_seconds = shutdown_seconds
        self._init_state()
        reset_in_child(self, "_after_fork")

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._shutdown_started = False
        self._expected: set[Stream] = set()  # handed off, not yet adopted by the loop
        self._connections: dict[Stream, _Connection] = {}  # the loop thread's alone
        self._dirty: list[Stream] = []
        self._flush_scheduled = False

    # -- any thread -----------------------------------------------------------------------------

    @property
    def streams(self) -> int:
        """Streams handed to the hub and not yet closed down."""
        return len(self._connections) + len(self._expected)

    def expect(self, stream: Stream) -> bool:
        """Start the hub if needed and count ``stream`` as its own (a stop closes it), before its
        socket arrives. False when the hub is stopping: the caller keeps the connection."""
        with self._lock:
            if self._stopping:
                return False
            if self._loop is None:
                self._start()
            self._expected.add(stream)
            return True

    def adopt(self, stream: Stream, head: bytes, fd: int) -> None:
        """Take over the connected socket ``fd`` (now the hub's to close): write ``head``, then
        the stream."""
        loop = self._loop
        try:
            if loop is None:
                raise RuntimeError("hub not running")
            loop.call_soon_threadsafe(self._adopt, stream, head, fd)
        except RuntimeError:  # stopped meanwhile: the shutdown closed the stream
            socket.socket(fileno=fd).close()
            with self._lock:
                self._expected.discard(stream)
            stream.close(SHUTDOWN)

    def wake(self, stream: Stream) -> None:
        """The stream has bytes or a close to write. One loop wake-up for a burst of pushes to
        many streams (a change sent to every subscriber), not one each."""
        with self._lock:
            loop = self._loop
            if loop is None:  # a forked child's copy of a parent's stream: never written here
                return
            self._dirty.append(stream)
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing left to write
            loop.call_soon_threadsafe(self._flush_dirty)

    def stop(self, *, wait: bool = True) -> None:
        """End every stream with ``end_frame("shutdown")``, give the frames
        ``shutdown_seconds`` to reach the clients, close the sockets, end the thread. With
        ``wait=False`` it only starts all that (call again to wait)."""
        with self._lock:
            self._stopping = True
            loop, thread = self._loop, self._thread
            expected = list(self._expected)
            shutdown, self._shutdown_started = self._shutdown_started, True
        if loop is None or thread is None:
            for stream in expected:
                stream.close(SHUTDOWN, end_frame(SHUTDOWN))
            return
        if not shutdown and thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed already
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        if wait:
            thread.join(self.shutdown_seconds + 5)

    # -- the loop thread ------------------------------------------------------------------------

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=self._run, args=(loop,), name="benben-hub")
        self._thread.daemon = True  # a stuck client never keeps the process alive
        self._thread.start()

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(self._tick)
        try:
            loop.run_forever()
        finally:
            for conn in list(self._connections.values()):
                self._close(conn, abort=True)
            loop.close()

    def _adopt(self, stream: Stream, head: bytes, fd: int) -> None:
        assert self._loop is not None
        sock = socket.socket(fileno=fd)
        sock.setblocking(False)
        conn = _Connection(stream, sock, head, len(head), time.monotonic())
        with self._lock:
            self._expected.discard(stream)
        self._connections[stream] = conn
        self._loop.add_reader(conn.fd, self._readable, conn)
        if self._stopping:
            stream.close(SHUTDOWN, end_frame(SHUTDOWN))
        stream.attach(self)  # wakes: the head and what is queued are written now

    def _flush_dirty(self) -> None:
        with self._lock:
            dirty, self._dirty = self._dirty, []
            self._flush_scheduled = False
        for stream in dict.fromkeys(dirty):
            conn = self._connections.get(stream)
            if conn is not None and not conn.finishing:
                self._write(conn)

    def _write(self, conn: _Connection) -> None:
        """Send what the stream has (a thousand of these per event: kept lean)."""
        stream = conn.stream
        data = stream.take()
        out = conn.out + data if conn.out else data
        while out:
            try:
                # Releasing the GIL (as socket.send does) matters: the kernel's part of a send
                # (on loopback the receiver's too) then runs beside the request threads. Kept
                # through a non-blocking libc send, it served a third of the REST throughput
                # with 1,000 subscribers (benchmarks/realtime_subscribers.py: 0.33 against 0.68).
                sent = conn.sock.send(out, NO_SIGNAL)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._gone(conn)
                return
            if not sent:
                break
            out = out[sent:]  # copies only what did not fit: a slow client's backlog
            head = min(sent, conn.head_left)
            if head:
                conn.head_left -= head
            if sent > head:
                stream.sent(sent - head)
            conn.last_write = time.monotonic()
        conn.out = out
        if out:
            if not conn.writing:
                assert self._loop is not None
                self._loop.add_writer(conn.fd, self._write, conn)
                conn.writing = True
            return
        if conn.writing:
            assert self._loop is not None
            self._loop.remove_writer(conn.fd)
            conn.writing = False
        if stream.drained:
            self._finish(conn)

    def _finish(self, conn: _Connection) -> None:
        """Everything sent: shut the write side, close once the client has read it and closed
        its side (a close with unread bytes from the client would reset and lose the tail)."""
        conn.finishing = True
        conn.deadline = conn.deadline or time.monotonic() + self.drain_seconds
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)

    def _readable(self, conn: _Connection) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the client closed (or reset) its side
            self._gone(conn)
        # Bytes from the client are dropped: an event stream's client has nothing to say.

    def _gone(self, conn: _Connection) -> None:
        conn.stream.close(CLIENT_GONE)  # no-op when it closed first
        conn.stream.discard()
        self._close(conn)

    def _close(self, conn: _Connection, *, abort: bool = False) -> None:
        if self._connections.pop(conn.stream, None) is None:
            return
        assert self._loop is not None
        self._loop.remove_reader(conn.fd)
        if conn.writing:
            self._loop.remove_writer(conn.fd)
        if abort:
            conn.stream.discard()
            with contextlib.suppress(OSError):
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, ABORT)
        conn.sock.close()

    def _tick(self) -> None:
        """Pings for silent streams, aborts for closed ones that do not drain; one timer for
        every stream."""
        now = time.monotonic()
        period = TICK_SECONDS
        for conn in list(self._connections.values()):
            stream = conn.stream
            if stream.closed:
                if conn.deadline is None:
                    conn.deadline = now + self.drain_seconds
                elif now >= conn.deadline:
                    # Sent and shut: a plain close (reset would lose unacknowledged bytes).
                    self._close(conn, abort=not conn.finishing)
                continue
            period = min(period, stream.heartbeat_seconds / 4)
            if not conn.out and now - conn.last_write >= stream.heartbeat_seconds:
                conn.last_write = now
                stream.push(PING)
        assert self._loop is not None
        self._loop.call_later(max(period, MIN_TICK_SECONDS), self._tick)

    async def _shutdown(self) -> None:
        with self._lock:
            streams = [*self._connections, *self._expected]
        for stream in streams:
            stream.close(SHUTDOWN, end_frame(SHUTDOWN))
        deadline = time.monotonic() + self.shutdown_seconds
        while self._connections and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for conn in list(self._connections.values()):
            self._close(conn, abort=True)
        asyncio.get_running_loop().stop()

    def _after_fork(self) -> None:
        """In a forked child: the loop thread does not exist there, and the sockets are the
        parent's (a copy kept open here would keep the client's connection open after the
        parent closed it)."""
        for conn in self._connections.values():
            with contextlib.suppress(OSError):
                conn.sock.close()
        self._orphaned_loop = self._loop  # the parent's: never closed (or collected) here
        self._init_state()
