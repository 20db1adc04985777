"""Whether any file in a directory was written since the last look, asked without letting go of
the GIL: Linux's inotify, read through ``ctypes.PyDLL``.

The auth epoch check (:mod:`benben.security.epoch`) asks on every authenticated request whether
another connection committed to the embedded SQLite database.  A commit writes its frames to the
``-wal`` file (or, outside WAL mode, to the database file) with ``write()``, and the kernel queues
the inotify event inside that call: by the time the committing process's commit returns, the
event is waiting here.  Asking costs one non-blocking ``read()`` that keeps the GIL (as
:mod:`benben.cache.peek` does for sockets: a call that releases it costs a threaded server more
than the call itself), and opens no file of the database: closing a descriptor of an SQLite file
would drop the POSIX locks SQLite holds on it in this process (sqlite.org/howtocorrupt.html).

Elsewhere (no inotify, no C library) :meth:`FileChanges.open` answers None, and callers ask
SQLite itself (``PRAGMA data_version``).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import struct
import sys
import threading
import weakref
from typing import Any

__all__ = ["FileChanges"]

_IN_MODIFY = 0x002
_IN_MOVED_FROM = 0x040
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_IN_IGNORED = 0x8000
_WATCHED = _IN_MODIFY | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE
# The directory itself gone or moved: its watch stops, so nothing more would ever be reported.
_WATCH_LOST = _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_IGNORED
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)
_BUFFER_SIZE = 64 * 1024


@functools.cache
def _libc() -> Any | None:
    """The C library's inotify calls and ``read``, called without releasing the GIL; None where
    they are missing.  Only for calls that cannot block (the descriptor is non-blocking)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.PyDLL(None, use_errno=True)
        init, add, read = libc.inotify_init1, libc.inotify_add_watch, libc.read
    except (OSError, AttributeError):
        return None
    init.argtypes, init.restype = (ctypes.c_int,), ctypes.c_int
    add.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
    add.restype = ctypes.c_int
    read.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t)
    read.restype = ctypes.c_ssize_t
    return libc


class FileChanges:
    """Writes to the files of one directory, reported once each: :meth:`pending` peeks,
    :meth:`drain` takes them (and says whether the watch still works).

    The descriptor is closed when the object is dropped, never while a thread may still be
    reading it: a number closed and reused meanwhile would have this read someone else's file.
    A forked child shares the parent's descriptor (one queue of events): there the watch counts
    as lost, so that the child never takes reports the parent has not seen.
    """

    def __init__(self, fd: int, libc: Any) -> None:
        self._fd = fd
        self._read = libc.read
        self._buffer = ctypes.create_string_buffer(_BUFFER_SIZE)
        # A one-byte buffer for peeking: inotify returns EINVAL rather than part of an event,
        # so a too-small read tells "something is waiting" without consuming it.
        self._probe = ctypes.create_string_buffer(1)
        self._lock = threading.Lock()
        weakref.finalize(self, os.close, fd)
        _in_child_forget(self)

    @classmethod
    def open(cls, directory: str) -> FileChanges | None:
        libc = _libc()
        if libc is None:
            return None
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:  # out of inotify instances (a per-user limit)
            return None
        if libc.inotify_add_watch(fd, os.fsencode(directory), _WATCHED) < 0:
            os.close(fd)
            return None
        return cls(fd, libc)

    def _forget_inherited(self) -> None:
        # In a forked child: no more reads (read(-1) fails with EBADF, not EAGAIN, so pending()
        # says True and drain() says lost).  The inherited copy is closed by the finalizer.
        self._fd = -1
        self._lock = threading.Lock()  # possibly held, at the fork, by a thread not in the child

    def pending(self) -> bool:
        """Whether a write was reported since the last :meth:`drain` (or the watch was lost:
        then :meth:`drain` says so)."""
        # EAGAIN: nothing.  EINVAL: an event is waiting, bigger than one byte.
        nothing = self._read(self._fd, self._probe, 1) < 0 and ctypes.get_errno() == errno.EAGAIN
        return not nothing

    def drain(self) -> bool:
        """Take every reported write; False when the watch no longer works (the directory was
        removed or moved, or this was closed): the caller must ask another way."""
        with self._lock:
            while True:
                size = self._read(self._fd, self._buffer, _BUFFER_SIZE)
                if size < 0:
                    return ctypes.get_errno() == errno.EAGAIN
                if size == 0:
                    return False
                offset = 0
                while offset < size:
                    _wd, mask, _cookie, length = _EVENT.unpack_from(self._buffer, offset)
                    if mask & _WATCH_LOST:
                        return False
                    offset += _EVENT.size + length


def _in_child_forget(changes: FileChanges) -> None:
    """``changes._forget_inherited()`` in every child forked while ``changes`` lives (held weakly:
    fork hooks cannot be unregistered)."""
    reference = weakref.ref(changes)

    def hook() -> None:
        alive = reference()
        if alive is not None:
            alive._forget_inherited()

    os.register_at_fork(after_in_child=hook)
