"""Redis commands on the hot path, sent with as few hand-offs of the GIL as the round trip needs.

A request that talks to Redis (the rate limiter's script on every request, the version
announcement after every write) waits for one reply.  Through a redis-py client that round trip
costs more than the wait:

- the pool polls each connection it lends for unexpected data, and redis-py's per-command retry
  and telemetry cost about as much CPU as the round trip itself;
- a socket with a Python-level timeout is non-blocking underneath: each read first fails with
  ``EAGAIN``, then polls, then reads again.

Every one of those system calls releases the GIL, and under concurrent requests each release
hands the GIL to another of waitress's threads, which the caller then waits to get back.  Here
connections are made by the client's own pool (URL, credentials, TLS, database: the same
handshake), kept by this object, and switched to blocking sockets whose timeouts the kernel
enforces (``SO_RCVTIMEO``/``SO_SNDTIMEO``): a command is one ``send`` and one ``recv``.

``pool.make_connection`` skips the pool's own check for a forked process, so this object keeps
its own: a child never sends on a connection it inherited (the parent's replies would be read by
either process), and it drops those without shutting them down (the parent still uses them).
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from typing import Any

from benben.cache.after_fork import reset_in_child

__all__ = ["DirectRedis"]


class DirectRedis:
    """Sends commands on connections it keeps, made by ``pool`` (a redis-py ``ConnectionPool``).

    A connection that fails is dropped, with those idle; one that answers an error
    (``ResponseError``) is kept.
    A command is never retried here: callers know which of theirs are safe to send twice.
    """

    def __init__(self, pool: Any) -> None:
        import redis.exceptions  # the redis extra: present whenever a redis pool exists

        self._errors = redis.exceptions
        self._pool = pool
        self._timeout: float | None = pool.connection_kwargs.get("socket_timeout")
        self._new_process_state()
        reset_in_child(self, "_new_process_state")

    def _new_process_state(self) -> None:
        """No connection yet, in this process: in a forked child, the inherited ones are only
        forgotten (the garbage collector closes the child's copies of their descriptors, which
        leaves the parent's connections alone; ``disconnect`` would shut them down)."""
        self._pid = os.getpid()
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    def execute(self, *command: Any) -> Any:
        if self._pid != os.getpid():  # forked without the hook (a fork that bypassed Python's)
            self._new_process_state()
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = self._connect()
        try:
            connection.send_command(*command)
            reply = connection.read_response()
        except self._errors.ResponseError:
            self._give_back(connection)  # the connection is fine; the command was refused
            raise
        except BaseException:
            connection.disconnect()
            # The idle ones most likely share its fate (a restart, a failover, a network cut):
            # the caller's retry, and the next commands, get fresh connections.
            self.close()
            raise
        self._give_back(connection)
        return reply

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.disconnect()

    def _connect(self) -> Any:
        connection = self._pool.make_connection()
        connection.connect()  # the handshake runs under the configured Python-level timeouts
        sock = connection._sock  # redis-py keeps no public handle on it
        # Plain TCP and Unix sockets only: on a blocking TLS socket, Python's SSL layer retries
        # a read the kernel timed out instead of failing it, so TLS keeps Python's timeouts.
        if type(sock) is socket.socket:
            _block_with_kernel_timeouts(sock, self._timeout)
        return connection

    def _give_back(self, connection: Any) -> None:
        with self._lock:
            self._idle.append(connection)


def _block_with_kernel_timeouts(sock: socket.socket, timeout: float | None) -> None:
    """A blocking socket: a read or write is one system call.  The kernel still bounds each by
    ``timeout`` (then it fails with ``EAGAIN``, which redis-py reports as a connection error)."""
    sock.settimeout(None)
    if timeout is None:
        return
    seconds = int(timeout)
    microseconds = max(int((timeout - seconds) * 1_000_000), 0 if seconds else 1)
    interval = struct.pack("@ll", seconds, microseconds)  # struct timeval
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, interval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, interval)
