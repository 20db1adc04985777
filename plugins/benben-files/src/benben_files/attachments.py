"""A record's attachments in the database: the record's ``attachments`` member, the
:class:`~.models.Attachment` rows indexing it, the :class:`~.models.Blob` of each content.

A change is written in the request's transaction, in this order:

1. the new ``attachments`` member, checked against the collection policy's schema, is written
   with :func:`set_record_member`, which takes the collection's lock and replays the request
   when the record changed since it was read (so two uploads to one record serialise, and
   the second sees the first's name);
2. the quota, summed under that lock, so that concurrent uploads cannot overshoot it together;
3. the Attachment row, then the Blob: inserted, or when that content is stored already, locked
   (``FOR UPDATE``) and its ``last_used_at`` moved to now, which keeps the orphan sweep from
   deleting it as this transaction commits, and the object just written is deleted after the
   commit (identical contents are stored once);
4. the event (``attachment.created``, ``.updated``, ``.deleted``), in the same transaction:
   ``{"collection", "id" (the record's), "last_modified" (the record's new), "attachment"}``.

A refusal (:class:`~.policy.Refused`) is answered by :func:`refused_view` as a problem; the
object a refused upload stored is deleted at once (nothing committed can reference its fresh
key).  An upload that fails otherwise leaves its object to the orphan sweep.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from benben.plugin import (
    Configurator,
    Request,
    enqueue_task,
    instance_errors,
    problem_response,
    publish_event,
    record_member,
    set_record_member,
)

from .metrics import get_metrics
from .models import Attachment, Blob, utcnow
from .policy import EffectivePolicy, Refused, relaxed_schema, used_bytes
from .schemas import ATTACHMENTS_MEMBER
from .storage import get_storage
from .thumbnails import TASK as THUMBNAILS_TASK
from .thumbnails import is_image
from .uploads import UPLOAD_KEY, Upload, too_large

__all__ = [
    "MEMBER",
    "attachment_href",
    "attachment_json",
    "current_attachments",
    "delete_attachment",
    "includeme",
    "record_etag",
    "refused_view",
    "store_attachment",
]

MEMBER = "attachments"
log = logging.getLogger(__name__)


def _segment(value: str) -> str:
    return quote(value, safe="")


def attachment_href(collection_id: str, record_id: str, name: str) -> str:
    """The download path: relative, so that stored records outlive a change of public URL."""
    return (
        f"/api/v1/collections/{_segment(collection_id)}/records/{_segment(record_id)}"
        f"/attachments/{_segment(name)}"
    )


def attachment_json(
    collection_id: str,
    record_id: str,
    upload: Upload | Attachment,
    last_modified: int,
    policy: EffectivePolicy,
) -> dict[str, Any]:
    """An attachment as the record's member and the API show it."""
    href = attachment_href(collection_id, record_id, upload.name)
    shown: dict[str, Any] = {
        "name": upload.name,
        "size": upload.size,
        "content_type": upload.content_type,
        "sha256": upload.sha256,
        "last_modified": last_modified,
        "href": href,
    }
    if policy.thumbnails and is_image(upload.content_type):
        shown["thumbnails"] = {size: f"{href}/thumbnails/{size}" for size in policy.thumbnail_sizes}
    return shown


def current_attachments(record: Any) -> dict[str, dict[str, Any]]:
    """The record's attachments member (name -> attachment), empty when it has none."""
    return dict(record_member(record, MEMBER) or {})


def record_etag(record: Any) -> str:
    return f'"{record.last_modified}"'


def _schema_errors(policy: EffectivePolicy, attachments: dict[str, Any]) -> list[dict[str, str]]:
    if not policy.schema:
        return []
    return instance_errors(relaxed_schema(policy.schema), attachments, (MEMBER,))


def _next_modified(record: Any) -> int:
    # The record's new last_modified is known only once written: the attachment's is taken
    # just before, after the record's current one.
    return max(time.time_ns() // 1_000_000, int(record.last_modified) + 1)


def _keep_blob(request: Request, upload: Upload) -> bool:
    """Insert the upload's Blob, or, when its content is stored already, lock that row and
    mark it used now; whether the upload's own object is the one kept."""
    session = request.dbsession
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {
        "sha256": upload.sha256,
        "key": upload.key,
        "size": upload.size,
        "content_type": upload.content_type,
        "created_at": now,
        "last_used_at": now,
    }
    session.execute(insert(Blob).values(**values).on_conflict_do_nothing())
    kept = session.execute(
        select(Blob.key).where(Blob.sha256 == upload.sha256).with_for_update()
    ).scalar_one()
    if kept == upload.key:
        return True
    session.execute(update(Blob).where(Blob.sha256 == upload.sha256).values(last_used_at=now))
    return False


def _after_commit(request: Request, callback: Any) -> None:
    def hook(succeeded: bool) -> None:
        if succeeded:
            try:
                callback()
            except Exception:  # the sweep removes what this could not
                log.warning("files: after-commit clean-up failed", exc_info=True)

    request.tm.get().addAfterCommitHook(hook)


def store_attachment(
    request: Request, context: Any, upload: Upload, policy: EffectivePolicy, *, replace: bool
) -> tuple[dict[str, Any], bool, Any]:
    """Attach the stored ``upload`` to the context's record: (its JSON, whether it was
    created rather than replaced, the record as written).  ``replace`` False: a name taken is
    a 409."""
    collection_id, record = context.collection.id, context.record
    attachments = current_attachments(record)
    existed = upload.name in attachments
    if existed and not replace:
        raise Refused(
            409,
            f"The record already has an attachment named {upload.name!r}: replace it with PUT.",
            [{"location": "querystring", "name": "name", "message": "is taken"}],
        )
    last_modified = _next_modified(record)
    shown = attachment_json(collection_id, record.id, upload, last_modified, policy)
    attachments[upload.name] = shown
    errors = _schema_errors(policy, attachments)
    if errors:
        raise Refused(
            400,
            "The record's attachments would not match the collection's attachment policy "
            "(its schema): " + "; ".join(f"{e['pointer']}: {e['message']}" for e in errors[:10]),
            errors,
        )
    written = set_record_member(request, context, MEMBER, attachments)
    session = request.dbsession
    if policy.quota_bytes:
        used = used_bytes(session, collection_id, excluding=(record.id, upload.name))
        if used + upload.size > policy.quota_bytes:
            raise too_large(policy.quota_bytes, quota=True)
    row = session.get(Attachment, (collection_id, record.id, upload.name))
    if row is None:
        row = Attachment(collection_id=collection_id, record_id=record.id, name=upload.name)
        session.add(row)
    row.sha256, row.size, row.content_type = upload.sha256, upload.size, upload.content_type
    row.created_by = request.identity.user_id if request.identity is not None else None
    row.last_modified = last_modified
    session.flush()
    own_object = _keep_blob(request, upload)
    metrics = get_metrics(request.registry)
    if own_object:
        _after_commit(request, lambda: metrics.upload("stored", upload.size))
    else:
        storage = get_storage(request.registry)

        def deduplicated() -> None:
            metrics.upload("deduplicated", upload.size)
            storage.delete(upload.key)

        _after_commit(request, deduplicated)
    publish_event(
        request,
        "attachment.updated" if existed else "attachment.created",
        {"attachment": shown},
        collection_id=collection_id,
        record_id=record.id,
        last_modified=written.last_modified,
    )
    if shown.get("thumbnails"):
        enqueue_task(request, THUMBNAILS_TASK, upload.sha256)
    return shown, not existed, written


def delete_attachment(request: Request, context: Any, name: str, policy: EffectivePolicy) -> Any:
    """Remove the attachment ``name`` of the context's record; the record as written.  Its
    content stays stored while anything references it (the orphan sweep removes it after)."""
    collection_id, record = context.collection.id, context.record
    attachments = current_attachments(record)
    removed = attachments.pop(name, None)
    if removed is None:
        raise Refused(404, f"The record has no attachment named {name!r}.")
    schema = policy.schema or {}
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    minimum = schema.get("minProperties")
    if name in required or (isinstance(minimum, int) and len(attachments) < minimum):
        reason = "requires it" if name in required else f"requires {minimum} attachments"
        raise Refused(
            409,
            f"The collection's attachment policy {reason}: {name!r} can be replaced (PUT), "
            "not removed.",
            [{"location": "path", "name": "name", "message": f"the policy's schema {reason}"}],
        )
    errors = _schema_errors(policy, attachments)
    if errors:
        raise Refused(
            409,
            "Without it the record's attachments would not match the collection's attachment "
            "policy (its schema).",
            errors,
        )
    written = set_record_member(request, context, MEMBER, attachments or None)
    row = request.dbsession.get(Attachment, (collection_id, record.id, name))
    if row is not None:
        request.dbsession.delete(row)
    publish_event(
        request,
        "attachment.deleted",
        {"attachment": removed},
        collection_id=collection_id,
        record_id=record.id,
        last_modified=written.last_modified,
    )
    return written


def refused_view(refusal: Refused, request: Request) -> Any:
    """A refusal as its problem.  The transaction is aborted with the exception; the object a
    refused upload stored goes now, as nothing committed can reference its key."""
    upload: Upload | None = request.environ.pop(UPLOAD_KEY, None)
    if upload is not None:
        try:
            get_storage(request.registry).delete(upload.key)
        except Exception:  # the sweep removes it later
            log.warning("files: could not delete a refused upload's object", exc_info=True)
    if refusal.outcome is not None:
        metrics = get_metrics(request.registry)
        metrics.upload(refusal.outcome)
        if refusal.status == 503:
            metrics.failure("storage")
    return problem_response(
        request,
        refusal.status,
        detail=refusal.detail,
        type=refusal.type,
        errors=refusal.errors or None,
        headers=refusal.headers,
        **refusal.extensions,
    )


def includeme(config: Configurator) -> None:
    config.add_record_member(MEMBER, ATTACHMENTS_MEMBER)
    config.add_exception_view(refused_view, context=Refused)
