"""What the plugin asks of a storage backend (:class:`BlobStorage`), whatever it is.

Keys are relative paths (``blobs/<uuid>``, ``thumbnails/<uuid>``), made by the plugin, never
from a client's input.  Objects are written once and never overwritten; the plugin decides what
to delete.  Every method may block on I/O; none holds a whole object in memory.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

__all__ = ["BlobStorage", "StorageError", "StoredObject"]


class StorageError(Exception):
    """The backend failed (unreachable, refused, disk full): the request answers 503."""


@dataclass(frozen=True)
class StoredObject:
    """An object as listed by :meth:`BlobStorage.iter_objects`."""

    key: str
    size: int
    modified_at: datetime.datetime  # aware, UTC


class BlobStorage(Protocol):
    """A place for bytes: the local disk, an S3-compatible bucket."""

    #: "local" or "s3": metrics and health report it.
    name: str

    def write(self, key: str, chunks: Iterable[bytes], *, content_type: str) -> int:
        """Store the object ``key`` from ``chunks`` (read as they come, never all at once: S3
        sends large objects as a multipart upload), returning its size.  On any failure,
        including an exception raised by ``chunks`` (a client that went away, a limit exceeded),
        nothing is left under ``key`` (a partial object is removed, a multipart upload aborted)
        and the exception propagates (a backend's own failure as :class:`StorageError`)."""

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes ``start`` to ``end`` (exclusive; None: to the end), in chunks of at most
        a few hundred KiB.  FileNotFoundError when the object is missing."""

    def delete(self, key: str) -> None:
        """Remove the object; nothing when it is already gone."""

    def iter_objects(self, prefix: str) -> Iterator[StoredObject]:
        """Every object whose key starts with ``prefix``, in no particular order (the orphan
        sweep, backups)."""

    def presigned_url(
        self, key: str, *, filename: str, content_type: str, expires_in: int
    ) -> str | None:
        """A URL from which a client downloads the object directly for ``expires_in`` seconds,
        answered with the given ``Content-Disposition`` filename and type; None when the
        backend cannot (the local disk)."""

    def check(self) -> None:
        """Raise StorageError when the storage cannot be used (the readiness probe)."""


class ReadableChunks(Protocol):
    """What uploads are read from: a file-like object (``wsgi.input``)."""

    def read(self, size: int = -1, /) -> bytes: ...


def iter_file(stream: BinaryIO | ReadableChunks, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
    """``stream`` read in chunks."""
    while chunk := stream.read(chunk_size):
        yield chunk
