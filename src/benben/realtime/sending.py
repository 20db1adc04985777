"""A non-blocking ``send`` that keeps the GIL, for the hub's many small writes.

The hub writes each event to every subscriber's socket: a thousand subscribers make a thousand
``send`` calls per event. ``socket.send`` releases the GIL around its system call, and under load
that hand-off is what it costs (as :mod:`benben.cache.peek` measured for ``recv``): a waitress
thread takes the GIL, and the hub waits for it back before its next send. A send with
``MSG_DONTWAIT`` cannot block (it takes what fits in the kernel's buffer, or fails with EAGAIN),
so it is called through ``ctypes.PyDLL``, which keeps the GIL for the length of the call. Where
that is not available, ``os.write`` does the same work, releasing the GIL.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import socket
from collections.abc import Callable
from typing import Any

__all__ = ["make_sender", "send_now"]

WOULD_BLOCK = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR})


@functools.cache
def _libc_send() -> Any | None:
    if not hasattr(socket, "MSG_DONTWAIT") or not hasattr(socket, "MSG_NOSIGNAL"):
        return None  # macOS has no MSG_NOSIGNAL: a closed peer would raise SIGPIPE
    try:
        send = ctypes.PyDLL(None, use_errno=True).send
    except (OSError, AttributeError):
        return None
    send.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int)
    send.restype = ctypes.c_ssize_t
    return send


FLAGS = getattr(socket, "MSG_DONTWAIT", 0) | getattr(socket, "MSG_NOSIGNAL", 0)


def make_sender(*, keep_gil: bool = True) -> Callable[[int, bytes], int]:
    """``send_now(fd, data)``: what the kernel takes of ``data`` now, as a count (0 when its
    buffer is full); raises OSError when the connection is gone. ``fd`` is non-blocking.
    Keeps the GIL where the C library allows it and ``keep_gil`` asks for it."""
    send = _libc_send() if keep_gil else None
    if send is None:

        def releasing_gil(fd: int, data: bytes) -> int:
            try:
                return os.write(fd, data)  # Python ignores SIGPIPE: EPIPE is an OSError
            except BlockingIOError:
                return 0

        return releasing_gil

    def keeping_gil(fd: int, data: bytes) -> int:
        sent: int = send(fd, data, len(data), FLAGS)
        if sent >= 0:
            return sent
        code = ctypes.get_errno()
        if code in WOULD_BLOCK:
            return 0
        raise OSError(code, os.strerror(code))

    return keeping_gil


send_now = make_sender()
