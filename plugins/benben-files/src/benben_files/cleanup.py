"""Files of deleted records and collections: removed once the delete has committed.

Deleting a record or a collection is core's business, in core's transaction: the files plugin
hears of it afterwards (the in-process listener on ``record.deleted`` and ``collection.deleted``,
run after the commit) and sends the task ``files.cleanup(collection_id, record_ids, before)``.
The task, on the worker:

1. deletes the :class:`~benben_files.models.Attachment` rows of those records (all of the
   collection's records: ``record_ids`` None) that are no longer live, or that were written
   before the delete (``last_modified`` below ``before``, the delete's own: a record deleted
   then created again under its id has none of the former one's files), publishing
   ``attachment.deleted`` for each (no actor: the plugin, not a user, deletes them);
2. deletes the collection's :class:`~benben_files.models.Policy` when it is the collection that
   was deleted;
3. deletes the blobs no attachment references any more whose ``last_used_at`` is older than the
   grace period, and their thumbnails, then (after that commit) their objects in storage.  A
   blob used within the grace is left for the sweep (:mod:`.sweep`): an upload that read it may
   be about to reference it.

Nothing is deleted in storage before the database no longer references it, and every step is
idempotent: the task may run twice, and the periodic sweep does the same for whatever a lost
message or a crash between the commit and the listener left behind.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, select, tuple_

from benben.plugin import (
    Event,
    Registry,
    Request,
    TaskContext,
    enqueue_task,
    live_records,
    publish_event,
)

from .attachments import attachment_href
from .metrics import get_metrics
from .models import Attachment, Blob, Policy, Thumbnail, utcnow
from .settings import get_settings
from .storage import get_storage
from .thumbnails import FAILED

__all__ = [
    "TASK",
    "Removed",
    "attachment_json",
    "cleanup_task",
    "delete_objects",
    "deleted_listener",
    "grace_cutoff",
    "remove_attachments",
    "remove_blobs",
]

log = logging.getLogger(__name__)

TASK = "files.cleanup"
_BATCH = 500  # rows per statement (SQLite's bound parameters, PostgreSQL's plans)


@dataclass(frozen=True)
class Removed:
    """An object whose row was deleted: to delete from storage once that commits."""

    key: str
    size: int


def grace_cutoff(registry: Registry, now: datetime.datetime | None = None) -> datetime.datetime:
    """Blobs last used and objects written before this are orphans (when unreferenced)."""
    hours = get_settings(registry).orphan_grace_hours
    return (now or utcnow()) - datetime.timedelta(hours=hours)


def attachment_json(row: Attachment) -> dict[str, Any]:
    """An attachment's JSON as the API shows it (the ``attachment.deleted`` event's data)."""
    return {
        "name": row.name,
        "size": row.size,
        "content_type": row.content_type,
        "sha256": row.sha256,
        "last_modified": row.last_modified,
        "href": attachment_href(row.collection_id, row.record_id, row.name),
    }


# -- the listener -----------------------------------------------------------------------------


def deleted_listener(event: Event, request: Request) -> None:
    """After a record's or collection's delete committed: clean up its files on the worker.
    Nothing is sent when it had none (an indexed query or two, on a connection of its own)."""
    collection_id = event.collection_id
    if collection_id is None:
        return
    record_ids = [event.record_id] if event.type == "record.deleted" and event.record_id else None
    if event.type == "record.deleted" and record_ids is None:
        return
    try:
        if not _has_files(request, collection_id, record_ids):
            return
    except Exception as exc:  # in doubt, send it: the task decides
        log.warning("files: attachments not checked (%s: %s)", type(exc).__name__, exc)
    try:
        enqueue_task(request.registry, TASK, collection_id, record_ids, event.last_modified)
    except Exception as exc:  # the broker is down: the periodic sweep catches up
        log.warning("files: clean-up not enqueued (%s: %s)", type(exc).__name__, exc)


def _has_files(request: Request, collection_id: str, record_ids: list[str] | None) -> bool:
    """Whether the records (the collection: ``record_ids`` None) have attachments, or the
    collection a policy."""
    query = select(Attachment.name).where(Attachment.collection_id == collection_id)
    if record_ids is not None:
        query = query.where(Attachment.record_id.in_(record_ids))
    # The request's transaction is over: a connection of its own, given back at once.
    with request.dbsession.get_bind().connect() as connection:
        if connection.execute(query.limit(1)).first() is not None:
            return True
        if record_ids is not None:
            return False
        policy = select(Policy.collection_id).where(Policy.collection_id == collection_id)
        return connection.execute(policy).first() is not None


# -- the task ---------------------------------------------------------------------------------


def cleanup_task(
    ctx: TaskContext,
    collection_id: str,
    record_ids: Sequence[str] | None = None,
    before: int | None = None,
) -> dict[str, int]:
    """Remove the files of the deleted records ``record_ids`` of ``collection_id`` (None: of
    the deleted collection); ``before``: the delete's ``last_modified``.  What was removed.
    A batch per transaction: a collection of a million files is no million-row transaction."""
    registry = ctx.registry
    cutoff = grace_cutoff(registry)
    report = {"attachments": 0, "objects": 0, "bytes": 0}
    after: tuple[str, str] | None = None
    while True:
        with ctx.transaction() as request:
            rows, after = remove_attachments(
                request, collection_id, record_ids, before=before, after=after
            )
            if after is None and record_ids is None:
                # The collection's last batch: its policy goes with it.
                request.dbsession.execute(
                    delete(Policy).where(Policy.collection_id == collection_id)
                )
            removed = remove_blobs(request.dbsession, {row.sha256 for row in rows}, cutoff)
        objects, nbytes = delete_objects(registry, removed)
        report["attachments"] += len(rows)
        report["objects"] += objects
        report["bytes"] += nbytes
        if after is None:
            break
    if report["attachments"]:
        log.info("files: cleaned up after a delete in %s: %s", collection_id, report)
    return report


def remove_attachments(
    request: Request,
    collection_id: str,
    record_ids: Iterable[str] | None,
    *,
    before: int | None = None,
    after: tuple[str, str] | None = None,
    limit: int = _BATCH,
) -> tuple[list[Attachment], tuple[str, str] | None]:
    """Delete (and announce) the attachments of ``record_ids`` of the collection (None: all of
    its records) whose record is not live, or that are older than ``before``.  At most
    ``limit`` rows are looked at, from the ``(record_id, name)`` after ``after``: the rows
    deleted, and where to go on from (None: done)."""
    session = request.dbsession
    key = tuple_(Attachment.record_id, Attachment.name)
    query = select(Attachment).where(Attachment.collection_id == collection_id)
    if record_ids is not None:
        wanted = list(dict.fromkeys(record_ids))
        if not wanted:
            return [], None
        query = query.where(Attachment.record_id.in_(wanted))
    if after is not None:
        query = query.where(key > tuple_(*after))
    # FOR UPDATE: an upload replacing one of these rows meanwhile waits, then finds it gone.
    query = query.order_by(Attachment.record_id, Attachment.name).limit(limit)
    rows = list(session.scalars(query.with_for_update()))
    if not rows:
        return [], None
    live = live_records(session, collection_id, {row.record_id for row in rows})
    dead = [
        row
        for row in rows
        if row.record_id not in live or (before is not None and row.last_modified < before)
    ]
    for row in dead:
        session.delete(row)
    session.flush()
    for row in dead:
        publish_event(
            request,
            "attachment.deleted",
            attachment_json(row),
            collection_id=row.collection_id,
            record_id=row.record_id,
            last_modified=before,
        )
    last = rows[-1]
    return dead, ((last.record_id, last.name) if len(rows) == limit else None)


def remove_blobs(
    session: Any, sha256s: Iterable[str] | None, cutoff: datetime.datetime
) -> list[Removed]:
    """Delete the blobs among ``sha256s`` that no attachment references and that were last used
    before ``cutoff``, and their thumbnails; the objects to delete from storage after the
    commit.  The conditions are in the DELETE itself, checked under each row's lock: an upload
    that referenced a blob meanwhile set its ``last_used_at`` (see models.py), so it stays."""
    wanted = sorted(set(sha256s or ()))
    removed: list[Removed] = []
    for start in range(0, len(wanted), _BATCH):
        batch = wanted[start : start + _BATCH]
        unreferenced = ~exists().where(Attachment.sha256 == Blob.sha256)
        deleted = session.execute(
            delete(Blob)
            .where(Blob.sha256.in_(batch), Blob.last_used_at < cutoff, unreferenced)
            .returning(Blob.sha256, Blob.key, Blob.size)
        ).all()
        if not deleted:
            continue
        removed.extend(Removed(row.key, row.size) for row in deleted)
        thumbnails = session.execute(
            delete(Thumbnail)
            .where(Thumbnail.sha256.in_([row.sha256 for row in deleted]))
            .returning(Thumbnail.key, Thumbnail.bytes, Thumbnail.content_type)
        ).all()
        removed.extend(  # a failure's row names no object
            Removed(row.key, row.bytes) for row in thumbnails if row.content_type != FAILED
        )
    return removed


def delete_objects(registry: Registry, removed: Iterable[Removed]) -> tuple[int, int]:
    """Delete these objects from storage (their rows' deletion committed); how many were
    deleted, and their bytes.
    A failure is logged and counted: the object is then an orphan the sweep finds again."""
    storage = get_storage(registry)
    metrics = get_metrics(registry)
    objects = nbytes = 0
    for item in removed:
        try:
            storage.delete(item.key)
        except Exception as exc:
            metrics.failure("storage")
            log.warning("files: could not delete %s (%s: %s)", item.key, type(exc).__name__, exc)
            continue
        objects += 1
        nbytes += item.size
    metrics.orphans_removed(objects, nbytes)
    return objects, nbytes
