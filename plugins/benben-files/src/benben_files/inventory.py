"""What files an instance holds, for backups (``benben backup``) and audits.

A backup of Benben with files is its database AND its files' contents.  This module enumerates
the contents without knowing where they are stored::

    from benben_files.inventory import iter_attachments, iter_blobs, open_blob

    with ctx.transaction(readonly=True) as request:        # or any SQLAlchemy session
        for blob in iter_blobs(request.dbsession):           # each content once
            with open(path_for(blob.sha256), "wb") as out:
                for chunk in open_blob(registry, blob.sha256, key=blob.key):
                    out.write(chunk)
        for entry in iter_attachments(request.dbsession):    # which record holds which
            manifest.write(entry)

- :func:`iter_attachments`: every attachment (collection, record, name, sha256, size, type,
  the storage key of its content), ordered by (collection, record, name);
- :func:`iter_blobs`: every stored content once (sha256, key, size, type), by sha256;
- :func:`open_blob`: a content's bytes, streamed from the storage backend (local disk or S3),
  checked against its sha256 at the end (``verify``: a ValueError when they differ).

Both iterators read in keyset batches of ``batch_size`` rows, never the whole table at once,
and are stable: each row comes once, in order, even while rows are added.  For a snapshot
consistent with the rest of the database, run them in the backup's transaction (on PostgreSQL,
``REPEATABLE READ``); contents are never changed in place (a key is written once), so an entry
read in that snapshot can still be read from storage unless the sweep removed it meanwhile
(an unreferenced blob older than the grace period: not part of any record).
Thumbnails are left out: they are made again from their images.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, tuple_

from benben.plugin import Registry, TaskContext

from .models import Attachment, Blob
from .storage import get_storage

__all__ = ["AttachmentEntry", "BlobEntry", "iter_attachments", "iter_blobs", "open_blob"]

_BATCH = 1000


@dataclass(frozen=True)
class AttachmentEntry:
    """A record's file: where it belongs, what it is, and where its content is stored."""

    collection_id: str
    record_id: str
    name: str
    sha256: str
    size: int
    content_type: str
    key: str
    last_modified: int


@dataclass(frozen=True)
class BlobEntry:
    """A stored content (once, whatever the number of attachments sharing it)."""

    sha256: str
    key: str
    size: int
    content_type: str
    created_at: datetime.datetime


def iter_attachments(
    session: Any, *, collection_id: str | None = None, batch_size: int = _BATCH
) -> Iterator[AttachmentEntry]:
    """Every attachment (of ``collection_id``'s records only, when given), by (collection,
    record, name), with its content's storage key."""
    order = (Attachment.collection_id, Attachment.record_id, Attachment.name)
    after: tuple[str, str, str] | None = None
    while True:
        query = (
            select(*order, Attachment.sha256, Attachment.size, Attachment.content_type)
            .add_columns(Attachment.last_modified, Blob.key)
            .join(Blob, Blob.sha256 == Attachment.sha256)
            .order_by(*order)
            .limit(batch_size)
        )
        if collection_id is not None:
            query = query.where(Attachment.collection_id == collection_id)
        if after is not None:
            query = query.where(tuple_(*order) > tuple_(*after))
        rows = session.execute(query).all()
        for row in rows:
            yield AttachmentEntry(
                collection_id=row.collection_id,
                record_id=row.record_id,
                name=row.name,
                sha256=row.sha256,
                size=row.size,
                content_type=row.content_type,
                key=row.key,
                last_modified=row.last_modified,
            )
        if len(rows) < batch_size:
            return
        last = rows[-1]
        after = (last.collection_id, last.record_id, last.name)


def iter_blobs(session: Any, *, batch_size: int = _BATCH) -> Iterator[BlobEntry]:
    """Every stored content once, by sha256."""
    after = ""
    while True:
        rows = session.execute(
            select(Blob.sha256, Blob.key, Blob.size, Blob.content_type, Blob.created_at)
            .where(Blob.sha256 > after)
            .order_by(Blob.sha256)
            .limit(batch_size)
        ).all()
        for row in rows:
            yield BlobEntry(row.sha256, row.key, row.size, row.content_type, row.created_at)
        if len(rows) < batch_size:
            return
        after = rows[-1].sha256


def open_blob(
    registry: Registry, sha256: str, *, key: str | None = None, verify: bool = True
) -> Iterator[bytes]:
    """The content ``sha256``'s bytes, in chunks, from storage.  ``key``: its storage key (an
    entry's), else looked up (LookupError when no such blob).  ``verify``: its sha256 checked
    at the end (ValueError when the stored bytes differ).  FileNotFoundError when the object
    is missing from storage."""
    if key is None:  # looked up now, not at the first chunk: a missing blob raises here
        with TaskContext(registry, "files.inventory").transaction(readonly=True) as request:
            key = request.dbsession.scalar(select(Blob.key).where(Blob.sha256 == sha256))
        if key is None:
            raise LookupError(f"no stored content {sha256}")
    return _chunks(registry, sha256, key, verify)


def _chunks(registry: Registry, sha256: str, key: str, verify: bool) -> Iterator[bytes]:
    digest = hashlib.sha256()
    for chunk in get_storage(registry).read(key):
        if verify:
            digest.update(chunk)
        yield chunk
    if verify and digest.hexdigest() != sha256:
        raise ValueError(f"the object {key} does not hold the content {sha256}")
