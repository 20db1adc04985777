"""The orphan sweep: the task ``files.sweep``, run by the worker every
``benben.files.sweep_interval_seconds`` (and by ``benben files sweep [--dry-run]``).

What nothing references any more is removed once older than ``benben.files.orphan_grace_hours``:

1. attachments of records or collections that are no longer live (what the clean-up after a
   delete does, :mod:`.cleanup`, for a delete whose clean-up was lost: a crash between the
   commit and the listener, a broker down), announced by ``attachment.deleted``;
2. blobs no attachment references, last used before the grace period, with their thumbnails:
   the rows first (``DELETE ... WHERE last_used_at < cutoff AND NOT EXISTS (an attachment)``,
   re-checked under each row's lock, so that an upload referencing the blob meanwhile keeps
   it), their objects after that commit;
3. objects in storage (``blobs/``, ``thumbnails/``) that no row names, written before the grace
   period: an upload rolled back or interrupted, a process killed between a commit and the
   deletion of an object.  Listed from storage as they come and looked up a batch at a time,
   so a bucket of millions of objects is never one query.  On S3, multipart uploads started
   before the grace period and never completed are aborted too.

The grace period protects what is in flight: an upload writes its object before its
transaction commits the row naming it, so the grace must exceed the longest upload (an S3
multipart object is dated from the start of its upload).  Everything is idempotent; several
sweeps at once do no harm (each deletion re-checks its condition).  The report,
``{"attachments", "blobs", "objects", "bytes"}``, is logged, returned, and counted in the
metrics (``benben_files_orphans_removed_*``); ``benben_files_stored_bytes`` is refreshed.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from itertools import islice
from typing import Any

from sqlalchemy import delete, exists, func, select, tuple_

from benben.plugin import TaskContext, live_collections, live_records

from .cleanup import Removed, delete_objects, grace_cutoff, remove_attachments, remove_blobs
from .metrics import get_metrics
from .models import Attachment, Blob, Policy, Thumbnail
from .storage import get_storage
from .storage.base import StoredObject

__all__ = ["PREFIXES", "TASK", "SweepReport", "sweep", "sweep_task"]

log = logging.getLogger(__name__)

TASK = "files.sweep"
PREFIXES = ("blobs/", "thumbnails/")
_BATCH = 500


@dataclass
class SweepReport:
    """What a sweep removed (or, dry, would remove)."""

    attachments: int = 0
    blobs: int = 0
    objects: int = 0
    bytes: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, int]:
        counts = asdict(self)
        counts.pop("dry_run")
        return counts


def sweep_task(ctx: TaskContext) -> dict[str, int]:
    """The periodic task: :func:`sweep`, its report as JSON."""
    return sweep(ctx).as_dict()


def sweep(
    ctx: TaskContext, *, dry_run: bool = False, now: datetime.datetime | None = None
) -> SweepReport:
    """Remove the orphans (see the module's docstring); ``dry_run``: count them only."""
    report = SweepReport(dry_run=dry_run)
    cutoff = grace_cutoff(ctx.registry, now)
    metrics = get_metrics(ctx.registry)
    try:
        _stale_attachments(ctx, report, cutoff)
        _stale_policies(ctx, report)
        _unreferenced_blobs(ctx, report, cutoff)
        for prefix in PREFIXES:
            _unknown_objects(ctx, report, cutoff, prefix)
        aborted = _stale_uploads(ctx, report, cutoff)
        with ctx.transaction(readonly=True) as request:
            stored = request.dbsession.scalar(select(func.coalesce(func.sum(Blob.size), 0)))
        metrics.stored(int(stored or 0))
    except Exception:
        metrics.failure("sweep")
        log.exception("files: the sweep failed (so far: %s)", report.as_dict())
        raise
    level = logging.INFO if any(report.as_dict().values()) or aborted else logging.DEBUG
    dry = " (dry run)" if dry_run else ""
    log.log(level, "files: sweep%s: %s, %d stale uploads aborted", dry, report.as_dict(), aborted)
    return report


def _stale_uploads(ctx: TaskContext, report: SweepReport, cutoff: datetime.datetime) -> int:
    """S3 multipart uploads started before the grace period and never completed (a process
    killed mid-upload): aborted, as a bucket's lifecycle rule would.  Other storages have none."""
    abort = getattr(get_storage(ctx.registry), "abort_stale_uploads", None)
    if report.dry_run or abort is None:
        return 0
    return int(abort(cutoff))


def _stale_attachments(ctx: TaskContext, report: SweepReport, cutoff: datetime.datetime) -> None:
    """Attachments of records that are no longer live: scan (collection, record) pairs a batch
    at a time, remove those of dead records."""
    after: tuple[str, str] | None = None
    while True:
        with ctx.transaction(readonly=True) as request:
            session = request.dbsession
            pairs = _record_pairs(session, after)
            dead: dict[str, list[str]] = {}
            for collection_id, record_ids in _by_collection(pairs).items():
                live = live_records(session, collection_id, record_ids)
                gone = [rid for rid in record_ids if rid not in live]
                if gone:
                    dead[collection_id] = gone
            if report.dry_run and dead:
                report.attachments += _count_attachments(session, dead)
        if not report.dry_run:
            for collection_id, record_ids in dead.items():
                _remove_dead(ctx, report, cutoff, collection_id, record_ids)
        if len(pairs) < _BATCH:
            return
        after = pairs[-1]


def _stale_policies(ctx: TaskContext, report: SweepReport) -> None:
    """Policies of collections that are gone (their clean-up message lost): a collection created
    again under the id must not inherit one."""
    if report.dry_run:
        return
    with ctx.transaction() as request:
        session = request.dbsession
        ids = list(session.scalars(select(Policy.collection_id)))
        gone = set(ids) - live_collections(session, ids)
        if gone:
            session.execute(delete(Policy).where(Policy.collection_id.in_(gone)))
            log.info("files: sweep: the policies of %d deleted collections removed", len(gone))


def _record_pairs(session: Any, after: tuple[str, str] | None) -> list[tuple[str, str]]:
    query = select(Attachment.collection_id, Attachment.record_id).distinct()
    if after is not None:
        query = query.where(tuple_(Attachment.collection_id, Attachment.record_id) > after)
    query = query.order_by(Attachment.collection_id, Attachment.record_id).limit(_BATCH)
    return [(row.collection_id, row.record_id) for row in session.execute(query)]


def _by_collection(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for collection_id, record_id in pairs:
        grouped.setdefault(collection_id, []).append(record_id)
    return grouped


def _count_attachments(session: Any, dead: dict[str, list[str]]) -> int:
    total = 0
    for collection_id, record_ids in dead.items():
        total += session.scalar(
            select(func.count())
            .select_from(Attachment)
            .where(Attachment.collection_id == collection_id, Attachment.record_id.in_(record_ids))
        )
    return total


def _remove_dead(
    ctx: TaskContext,
    report: SweepReport,
    cutoff: datetime.datetime,
    collection_id: str,
    record_ids: list[str],
) -> None:
    after: tuple[str, str] | None = None
    while True:
        with ctx.transaction() as request:
            # Liveness checked again in this transaction, under the rows' locks.
            rows, after = remove_attachments(request, collection_id, record_ids, after=after)
            removed = remove_blobs(request.dbsession, {row.sha256 for row in rows}, cutoff)
        report.attachments += len(rows)
        _removed_blobs(ctx, report, removed)
        if after is None:
            return


def _removed_blobs(ctx: TaskContext, report: SweepReport, removed: list[Removed]) -> None:
    """Count and delete the objects of blobs (and thumbnails) whose rows were deleted."""
    report.blobs += sum(1 for item in removed if item.key.startswith("blobs/"))
    objects, nbytes = delete_objects(ctx.registry, removed)
    report.objects += objects
    report.bytes += nbytes


def _unreferenced_blobs(ctx: TaskContext, report: SweepReport, cutoff: datetime.datetime) -> None:
    after = ""
    while True:
        with ctx.transaction(readonly=True) as request:
            candidates = request.dbsession.execute(
                select(Blob.sha256, Blob.size)
                .where(
                    Blob.sha256 > after,
                    Blob.last_used_at < cutoff,
                    ~exists().where(Attachment.sha256 == Blob.sha256),
                )
                .order_by(Blob.sha256)
                .limit(_BATCH)
            ).all()
        if not candidates:
            return
        if report.dry_run:
            report.blobs += len(candidates)
            report.objects += len(candidates)
            report.bytes += sum(row.size for row in candidates)
        else:
            with ctx.transaction() as request:
                shas = [row.sha256 for row in candidates]
                removed = remove_blobs(request.dbsession, shas, cutoff)
            _removed_blobs(ctx, report, removed)
        if len(candidates) < _BATCH:
            return
        after = candidates[-1].sha256


def _unknown_objects(
    ctx: TaskContext, report: SweepReport, cutoff: datetime.datetime, prefix: str
) -> None:
    """Objects under ``prefix`` older than the grace that no Blob or Thumbnail row names."""
    storage = get_storage(ctx.registry)
    old = (item for item in storage.iter_objects(prefix) if item.modified_at < cutoff)
    for batch in _batches(old, _BATCH):
        keys = [item.key for item in batch]
        with ctx.transaction(readonly=True) as request:
            session = request.dbsession
            known = set(session.scalars(select(Blob.key).where(Blob.key.in_(keys))))
            known.update(session.scalars(select(Thumbnail.key).where(Thumbnail.key.in_(keys))))
        orphans = [item for item in batch if item.key not in known]
        if not orphans:
            continue
        if report.dry_run:
            report.objects += len(orphans)
            report.bytes += sum(item.size for item in orphans)
            continue
        for item in orphans:
            log.info("files: removing %s (%d bytes, written %s): no row names it", *_facts(item))
        objects, nbytes = delete_objects(ctx.registry, [Removed(o.key, o.size) for o in orphans])
        report.objects += objects
        report.bytes += nbytes


def _facts(item: StoredObject) -> tuple[str, int, str]:
    return item.key, item.size, item.modified_at.isoformat(timespec="seconds")


def _batches(items: Iterator[StoredObject], size: int) -> Iterator[list[StoredObject]]:
    while batch := list(islice(items, size)):
        yield batch
