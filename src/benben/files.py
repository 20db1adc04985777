"""Files only Benben's own user may read: the data directory (``benben.data_dir``), the embedded
SQLite database and its ``-wal``/``-shm``/``-journal`` companions, the generated ``secret.key``.

They hold every record, password hash and the secret that signs tokens, so:

- a directory Benben creates is ``0700`` and a file ``0600``, whatever the umask (the mode is
  set explicitly after creation: ``os.makedirs``/``os.open`` modes are masked by the umask);
- an existing directory or file left more open (a ``var/`` and ``benben.sqlite`` made ``0755`` and
  ``0644`` by an earlier version) is tightened, with a warning, when this process's user owns it;
  otherwise a warning says what to run.  A directory is tightened only when it is Benben's: empty,
  or holding one of the files named (never ``/srv`` or a home directory pointed at by mistake,
  nor a sticky directory such as ``/tmp``).

SQLite creates its ``-wal``, ``-shm`` and ``-journal`` files with the database file's mode, so a
``0600`` database keeps them ``0600`` too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Iterable

__all__ = [
    "PRIVATE_DIRECTORY_MODE",
    "PRIVATE_FILE_MODE",
    "create_private_file",
    "private_directory",
    "tighten_file",
]

PRIVATE_DIRECTORY_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
log = logging.getLogger(__name__)


def private_directory(path: str, owned_names: Iterable[str] = ()) -> None:
    """Create ``path`` (and missing parents) with the directory itself ``0700``; tighten it if it
    exists and is Benben's (empty, or holding one of ``owned_names``)."""
    path = os.path.abspath(path)
    try:
        os.mkdir(path, PRIVATE_DIRECTORY_MODE)
    except FileExistsError:
        _tighten_directory(path, tuple(owned_names))
        return
    except FileNotFoundError:  # a parent is missing: parents are not ours to lock down
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with contextlib.suppress(FileExistsError):  # created meanwhile by another process
            os.mkdir(path, PRIVATE_DIRECTORY_MODE)
    os.chmod(path, PRIVATE_DIRECTORY_MODE)  # the umask may have taken bits off: exactly 0700


def _tighten_directory(path: str, owned_names: tuple[str, ...]) -> None:
    info = os.stat(path)
    if not stat.S_ISDIR(info.st_mode) or not _open_to_others(info.st_mode):
        return  # not a directory: whoever opens it reports the error
    ours = not os.listdir(path) or any(os.path.exists(os.path.join(path, n)) for n in owned_names)
    if info.st_uid != os.geteuid() or info.st_mode & stat.S_ISVTX or not ours:
        log.warning(
            "the data directory %s is readable by other users (mode %s): run "
            "chmod 700 %s (or choose another benben.data_dir)",
            path, _mode(info.st_mode), path,
        )  # fmt: skip
        return
    os.chmod(path, PRIVATE_DIRECTORY_MODE)
    log.warning(
        "the data directory %s was open to other users (mode %s): made 0700",
        path, _mode(info.st_mode),
    )  # fmt: skip


def create_private_file(path: str) -> bool:
    """Create ``path`` empty and ``0600`` unless it exists (then tighten it); True if created."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        tighten_file(path)
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)  # exactly 0600, whatever the umask
    finally:
        os.close(fd)
    return True


def tighten_file(path: str) -> None:
    """An existing file readable or writable by others becomes ``0600`` if ours, else a warning."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode) or not _open_to_others(info.st_mode):
        return
    if info.st_uid != os.geteuid():
        log.warning(
            "%s is readable by other users (mode %s) and not owned by this user: run chmod 600 %s",
            path, _mode(info.st_mode), path,
        )  # fmt: skip
        return
    os.chmod(path, PRIVATE_FILE_MODE)
    log.warning("%s was open to other users (mode %s): made 0600", path, _mode(info.st_mode))


def _open_to_others(mode: int) -> bool:
    """Whether group or others have any permission (the owner's own bits are left alone)."""
    return bool(stat.S_IMODE(mode) & 0o077)


def _mode(mode: int) -> str:
    return format(stat.S_IMODE(mode), "04o")
