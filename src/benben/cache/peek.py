"""Whether a socket has bytes waiting, asked without letting go of the GIL.

Every hot read asks whether a version announcement is waiting on the Redis subscription (see
:class:`benben.cache.redis_versions.RedisVersionBoard`).  ``select()``, like every blocking call
in the standard library, releases the GIL around its system call, and under load that hand-off
is what it costs: another of waitress's threads takes the GIL and the reader waits for it to come
back.  Measured again with processes (issue #15: ``benchmarks/ab_revisions.py``, 2 workers x 2
threads, PostgreSQL + Redis, 16 connections, 2 cores): the socket object's own
``recv(MSG_PEEK | MSG_DONTWAIT)``, which releases the GIL, served 0.86 and 0.90 of the cached
record GETs and 0.90 of the pages this one does, in two runs.

A ``recv(MSG_PEEK | MSG_DONTWAIT)`` cannot block, so it is called through ``ctypes.PyDLL``, which
keeps the GIL for the length of the call (that is its documented difference from ``CDLL``).
Where that is not available (no C library to load, no ``MSG_DONTWAIT``), a selector with a zero
timeout answers the same question.

The socket is passed as the socket object and its descriptor is taken at the call: the caller
must hold the lock under which its owner closes it, or a descriptor closed and reused by another
thread's socket could be peeked.
"""

from __future__ import annotations

import ctypes
import functools
import selectors
import socket
from collections.abc import Callable
from typing import Any

__all__ = ["holds_gil", "readable_now"]


@functools.cache
def _libc_recv() -> Any | None:
    """The C library's ``recv(fd, buffer, size, flags)``, called without releasing the GIL;
    None where it, or ``MSG_DONTWAIT``, is missing.  Only for calls that cannot block."""
    if not hasattr(socket, "MSG_DONTWAIT"):
        return None
    try:
        recv = ctypes.PyDLL(None).recv
    except (OSError, AttributeError):
        return None
    recv.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    recv.restype = ctypes.c_ssize_t
    return recv


def _libc_peek() -> Callable[[socket.socket], bool] | None:
    recv = _libc_recv()
    if recv is None:
        return None
    flags = socket.MSG_PEEK | socket.MSG_DONTWAIT
    # One byte is all it looks at, and it stays in the socket: shared by all callers.
    byte = ctypes.create_string_buffer(1)

    def readable(sock: socket.socket) -> bool:
        fd = sock.fileno()
        if fd < 0:  # closed by its owner: it reconnects
            return False
        # >= 0: data, or the peer closed (whoever reads next meets the closure).  -1: EAGAIN,
        # nothing yet.
        return recv(fd, byte, 1, flags) >= 0

    return readable


def _selector_peek(sock: socket.socket) -> bool:
    if sock.fileno() < 0:
        return False
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(0))


_peek = _libc_peek()


def holds_gil() -> bool:
    """Whether :func:`readable_now` keeps the GIL (the C library's ``recv`` is in use)."""
    return _peek is not None


def readable_now(sock: socket.socket) -> bool:
    """Whether reading ``sock`` would not block: bytes are waiting, or the peer closed it.
    The caller holds the lock under which ``sock`` is closed (see the module's docstring)."""
    return (_peek or _selector_peek)(sock)
