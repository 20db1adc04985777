"""Whether a socket has bytes waiting, asked without letting go of the GIL.

Every hot read asks whether a version announcement is waiting on the Redis subscription (see
:class:`benben.cache.near.RedisVersionBoard`).  ``select()``, like every blocking call in the
standard library, releases the GIL around its system call, and under load that hand-off is what
it costs: another of waitress's threads takes the GIL and the reader waits for it to come back.
Measured with 16 clients on cached record GETs (PostgreSQL + Redis, 4 threads, 2 cores): one
``select`` per read cost 30% of the throughput (715 against 500 req/s).

A ``recv(MSG_PEEK | MSG_DONTWAIT)`` cannot block, so it is called through ``ctypes.PyDLL``, which
keeps the GIL for the length of the call (that is its documented difference from ``CDLL``).
Where that is not available (no C library to load, no ``MSG_DONTWAIT``), ``select`` with a zero
timeout answers the same question.
"""

from __future__ import annotations

import ctypes
import functools
import select
import socket
from collections.abc import Callable
from typing import Any

__all__ = ["holds_gil", "libc_recv", "readable_now"]


@functools.cache
def libc_recv() -> Any | None:
    """The C library's ``recv(fd, buffer, size, flags)``, called without releasing the GIL (it
    records ``errno`` for ``ctypes.get_errno``); None where it, or ``MSG_DONTWAIT``, is missing.
    Only for calls that cannot block."""
    if not hasattr(socket, "MSG_DONTWAIT"):
        return None
    try:
        recv = ctypes.PyDLL(None, use_errno=True).recv
    except (OSError, AttributeError):
        return None
    recv.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    recv.restype = ctypes.c_ssize_t
    return recv


def _libc_peek() -> Callable[[socket.socket], bool] | None:
    recv = libc_recv()
    if recv is None:
        return None
    flags = socket.MSG_PEEK | socket.MSG_DONTWAIT
    # One byte is all it looks at, and it stays in the socket: shared by all callers.
    byte = ctypes.create_string_buffer(1)

    def readable(sock: socket.socket) -> bool:
        received = recv(sock.fileno(), byte, 1, flags)
        # >= 0: data, or the peer closed (whoever reads next meets the closure).  -1: EAGAIN,
        # nothing yet; or EBADF and the like, closed meanwhile, and its owner reconnects.
        return received >= 0

    return readable


def _select_peek(sock: socket.socket) -> bool:
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):  # closed meanwhile: its owner reconnects
        return False


_peek = _libc_peek()


def holds_gil() -> bool:
    """Whether :func:`readable_now` keeps the GIL (the C library's ``recv`` is in use)."""
    return _peek is not None


def readable_now(sock: socket.socket) -> bool:
    """Whether reading ``sock`` would not block: bytes are waiting, or the peer closed it."""
    return (_peek or _select_peek)(sock)
