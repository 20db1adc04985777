"""The local disk as a :class:`~.base.BlobStorage`: one file per object under a root directory.

An object appears whole or not at all: it is written to a temporary file in the same directory
(``.part-<uuid>``), synced, then renamed into place, which is atomic on POSIX file systems.  A
process killed mid-write leaves only its ``.part-*`` file, which :meth:`iter_objects` lists so
that the orphan sweep removes it once it is old.
"""

from __future__ import annotations

import datetime
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .base import StorageError, StoredObject

__all__ = ["CHUNK_SIZE", "TEMP_PREFIX", "FileChunks", "LocalStorage"]

CHUNK_SIZE = 256 * 1024
TEMP_PREFIX = ".part-"
FILE_MODE = 0o640
DIRECTORY_MODE = 0o750


@contextmanager
def _disk(action: str, path: Path | str) -> Iterator[None]:
    """The disk's failures (full, read-only, I/O error) as StorageError; a missing file stays
    FileNotFoundError, which callers answer as a missing object."""
    try:
        yield
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StorageError(f"local storage: cannot {action} {path}: {exc}") from exc


def validate_key(key: str) -> str:
    """``key`` when it is a safe relative path (``blobs/ab/ab12...``); ValueError otherwise.

    Keys are made by the plugin, never by clients: this guards against a bug turning into a
    write outside the storage's root."""
    if not isinstance(key, str) or not key or "\\" in key or "\x00" in key:
        raise ValueError(f"invalid storage key {key!r}")
    parts = key.split("/")
    if key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class FileChunks:
    """An open file read in chunks from ``start`` to ``end``: an iterator that WSGI servers
    close (``close()``) even when the client goes away before the end."""

    def __init__(self, file: BinaryIO, start: int, end: int | None) -> None:
        self._file = file
        self._remaining = None if end is None else max(0, end - start)
        self._path = file.name

    def __iter__(self) -> FileChunks:
        return self

    def __next__(self) -> bytes:
        if self._file.closed:
            raise StopIteration
        size = CHUNK_SIZE if self._remaining is None else min(CHUNK_SIZE, self._remaining)
        chunk = b""
        if size:
            with _disk("read", self._path):
                chunk = self._file.read(size)
        if not chunk:
            self.close()
            raise StopIteration
        if self._remaining is not None:
            self._remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        self._file.close()

    def __del__(self) -> None:
        # A response never iterated (an error before it was sent) still releases its file.
        self.close()


class LocalStorage:
    """Objects as files under ``root`` (``root/blobs/ab/ab12...``)."""

    name = "local"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def path(self, key: str) -> Path:
        """Where the object ``key`` is kept (ValueError for an unsafe key)."""
        return self.root.joinpath(*validate_key(key).split("/"))

    def write(self, key: str, chunks: Iterable[bytes], *, content_type: str) -> int:
        target = self.path(key)
        directory = target.parent
        temporary = directory / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        with _disk("create", directory):
            directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        size = 0
        try:
            with os.fdopen(descriptor, "wb") as file:
                with _disk("write", temporary):
                    # The umask may have taken group read away: the mode is the promise.
                    os.fchmod(file.fileno(), FILE_MODE)
                # Exceptions of `chunks` (a client gone, a limit exceeded) propagate as raised;
                # only the disk's own become StorageError.
                for chunk in chunks:
                    with _disk("write", temporary):
                        file.write(chunk)
                    size += len(chunk)
                with _disk("write", temporary):
                    file.flush()
                    os.fsync(file.fileno())
            with _disk("write", target):
                os.replace(temporary, target)
                _sync_directory(directory)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return size

    def read(self, key: str, start: int = 0, end: int | None = None) -> FileChunks:
        path = self.path(key)
        # Opened now, not on the first chunk: a missing object is known before a response starts.
        with _disk("read", path):
            file = path.open("rb")
            try:
                file.seek(start)
            except BaseException:
                file.close()
                raise
        return FileChunks(file, start, end)

    def delete(self, key: str) -> None:
        path = self.path(key)
        # Empty shard directories are kept: there are at most 256 of them per kind, soon reused,
        # and removing one could race with a write that has just created it.
        with _disk("delete", path):
            path.unlink(missing_ok=True)

    def iter_objects(self, prefix: str) -> Iterator[StoredObject]:
        # Walk only the directory the prefix names (`blobs/` -> root/blobs), filter the rest.
        directory = prefix.rpartition("/")[0]
        start = self.path(directory) if directory else self.root
        for dirpath, _dirnames, filenames in os.walk(start, onerror=_walk_error):
            relative = Path(dirpath).relative_to(self.root).as_posix()
            for filename in filenames:
                key = filename if relative == "." else f"{relative}/{filename}"
                if not key.startswith(prefix):
                    continue
                try:
                    stat = os.stat(os.path.join(dirpath, filename))
                except FileNotFoundError:
                    continue  # deleted meanwhile
                except OSError as exc:
                    raise StorageError(f"local storage: cannot list {key}: {exc}") from exc
                modified = datetime.datetime.fromtimestamp(stat.st_mtime, datetime.UTC)
                yield StoredObject(key=key, size=stat.st_size, modified_at=modified)

    def presigned_url(
        self, key: str, *, filename: str, content_type: str, expires_in: int
    ) -> str | None:
        return None

    def check(self) -> None:
        import tempfile

        # An unnamed temporary file (O_TMPFILE on Linux): written, then gone, never left behind.
        try:
            with tempfile.TemporaryFile(dir=self.root) as probe:
                probe.write(b"\0")
                probe.flush()
        except OSError as exc:
            raise StorageError(f"local storage: cannot write in {self.root}: {exc}") from exc


def _walk_error(error: OSError) -> None:
    # The prefix's directory not existing yet is an empty listing, anything else a failure.
    if not isinstance(error, FileNotFoundError):
        raise StorageError(f"local storage: cannot list {error.filename}: {error}") from error


def _sync_directory(directory: Path) -> None:
    """Make the rename durable: the new directory entry reaches the disk."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
