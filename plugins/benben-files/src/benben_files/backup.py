"""The files plugin in ``benben backup`` archives: its tables and every stored content.

Tables, in restore order: blobs, attachments, policies.  Thumbnails are left out (rows and
objects): a download of a thumbnail that does not exist yet sends the task that makes it, so a
restored instance makes them again as they are asked for.

Files: each blob once (whatever the number of attachments sharing its content), read in the
backup's snapshot (:func:`~.inventory.iter_blobs` on its connection) and streamed from storage
(:func:`~.inventory.open_blob`).  A file's member name is its storage key with ``/`` as ``.``
(``blobs.3f.3f2a...``): the restore writes the content back under the very key the restored
blob row names, which is valid on either backend (keys are relative paths; S3 adds its
prefix), so an archive made on the local disk restores into S3 and back.

A key is random and written once (never overwritten, never reused), so an object already
under it holds the content the archive has: restore leaves it as it is (restoring into the
instance the archive came from rewrites nothing), and a failed restore's discard removes only
the objects it wrote.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from benben.plugin import BackupFile, Configurator, Registry

from .inventory import iter_blobs, open_blob
from .models import Attachment, Blob, Policy
from .storage import get_storage

__all__ = ["BlobFiles", "includeme", "key_of", "member_name"]

# What a blob's key may be to travel in an archive: segments of safe characters, no dots (the
# member name uses them as separators), "blobs/..." (the restore writes nowhere else).
_KEY = re.compile(r"blobs(/[A-Za-z0-9_-]+)+")
_MAX_NAME = 200


class MissingContentError(FileNotFoundError):
    """A blob whose object is missing from storage: its attachments cannot be backed up."""


def member_name(key: str) -> str:
    """The archive member name of the object ``key`` (ValueError for a key no archive carries)."""
    if not _KEY.fullmatch(key) or len(key) > _MAX_NAME:
        raise ValueError(f"files: the storage key {key!r} cannot be named in an archive")
    return key.replace("/", ".")


def key_of(name: str) -> str:
    """The storage key of the archive member ``name`` (ValueError for a name no backup made:
    an archive never chooses where the restore writes)."""
    key = name.replace(".", "/")
    if not _KEY.fullmatch(key) or len(name) > _MAX_NAME:
        raise ValueError(f"files: {name!r} is not the name of a stored content")
    return key


class BlobFiles:
    """The plugin's :class:`benben.plugin.BackupFiles`: one per app (it remembers, for a
    restore's discard, which objects were there before)."""

    def __init__(self) -> None:
        self._found: set[str] = set()

    def list(self, registry: Registry, connection: Any) -> Iterator[BackupFile]:
        for blob in iter_blobs(connection):
            yield BackupFile(
                name=member_name(blob.key),
                size=blob.size,
                sha256=blob.sha256,
                open=_opener(registry, blob.sha256, blob.key),
            )

    def restore(self, registry: Registry, name: str, chunks: Iterator[bytes]) -> None:
        key = key_of(name)
        storage = get_storage(registry)
        if _exists(storage, key):
            self._found.add(name)
            for _chunk in chunks:  # read through: the archive's reader checks its digest
                pass
            return
        self._found.discard(name)
        # The type downloads are served as is the blob row's; the object's own is not read.
        storage.write(key, chunks, content_type="application/octet-stream")

    def discard(self, registry: Registry, names: Sequence[str]) -> None:
        storage = get_storage(registry)
        for name in names:
            if name in self._found:
                continue
            storage.delete(key_of(name))
        self._found.difference_update(names)


def _opener(registry: Registry, sha256: str, key: str) -> Callable[[], Iterator[bytes]]:
    def open_content() -> Iterator[bytes]:
        try:
            # The archive's writer checks the digest against the index as it copies.
            yield from open_blob(registry, sha256, key=key, verify=False)
        except FileNotFoundError as exc:
            raise MissingContentError(
                f"files: the content {sha256} (object {key}) is missing from the "
                f"{get_storage(registry).name} storage: its attachments cannot be backed up"
            ) from exc

    return open_content


def _exists(storage: Any, key: str) -> bool:
    try:
        chunks = storage.read(key, 0, 1)
    except FileNotFoundError:
        return False
    close = getattr(chunks, "close", None)
    if close is not None:
        close()
    return True


def includeme(config: Configurator) -> None:
    config.add_backup_participant([Blob, Attachment, Policy], files=BlobFiles())
