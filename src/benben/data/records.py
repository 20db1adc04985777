"""Record writes: create, replace, delete (a tombstone), and the records' JSON.

Callers hold the collection's lock (see :mod:`.storage`): the record they pass is the current
one, authorized and checked against the request's preconditions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from pyramid.request import Request
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from benben.data.models import Collection, Record, RecordGrant
from benben.data.storage import bump, grant_rows, record_history, user_id_of

__all__ = [
    "delete_record",
    "iter_live_records",
    "load_record",
    "new_record_id",
    "record_body",
    "record_json",
    "save_record",
    "tombstone_json",
]


def new_record_id() -> str:
    return str(uuid.uuid4())


def load_record(session: Session, collection_id: str, record_id: str) -> Record | None:
    """The record or its tombstone; None when there is neither."""
    return session.get(Record, (collection_id, record_id))


def record_body(record: Record | None) -> dict[str, Any] | None:
    """What a client sets (``{"data", "permissions"}``): the body a PATCH applies to."""
    if record is None or record.deleted:
        return None
    return {"data": record.data, "permissions": dict(record.permissions or {})}


def record_json(record: Record, *, show_permissions: bool, data: Any = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": record.id,
        "data": record.data if data is None else data,
        "last_modified": record.last_modified,
        "created_by": record.created_by,
    }
    if show_permissions:
        result["permissions"] = dict(record.permissions or {})
    return result


def tombstone_json(record: Record) -> dict[str, Any]:
    return {"id": record.id, "last_modified": record.last_modified, "deleted": True}


def save_record(
    request: Request,
    collection: Collection,
    current: Record | None,
    record_id: str,
    *,
    data: dict[str, Any],
    permissions: Mapping[str, list[str]] | None,
) -> tuple[Record, bool]:
    """Create or replace a record (``current``: the row, live or tombstone, or None).

    ``permissions`` None keeps those of a live record (a new one gets none).  Returns the record
    and whether it was created.
    """
    session = request.dbsession
    live = current is not None and not current.deleted
    previous = record_body(current)
    timestamp = bump(request, collection, 0 if live else 1)
    user_id = user_id_of(request)
    if current is None:
        values = {
            "collection_id": collection.id,
            "id": record_id,
            "data": data,
            "permissions": dict(permissions or {}),
            "created_by": user_id,
            "last_modified": timestamp,
            "deleted": False,
        }
        # One INSERT, not the ORM's unit of work: creation is the hot write.  The object
        # answered is transient; later reads in this transaction load the row.
        session.execute(insert(Record.__table__).values(values))
        record = Record(**values)
        regrant = True
    else:
        record = current
        old_permissions = dict(record.permissions or {}) if live else None
        if not live:  # a tombstone comes back to life as a new record
            record.created_by = user_id
            record.permissions = dict(permissions or {})
        elif permissions is not None:
            record.permissions = dict(permissions)
        record.data = data
        record.deleted = False
        record.last_modified = timestamp
        regrant = not live or old_permissions != record.permissions
    if regrant:
        _regrant(session, record, fresh=current is None)
    record_history(
        session,
        collection_id=collection.id,
        resource="record",
        record_id=record_id,
        action="update" if live else "create",
        timestamp=timestamp,
        user_id=user_id,
        data=record_body(record),
        previous=previous,
    )
    return record, not live


def delete_record(request: Request, collection: Collection, record: Record) -> Record:
    """Turn a live record into its tombstone (kept for ``_since`` syncs until retention drops
    it).  Its grants stay, so that those who could read it learn of the deletion."""
    session = request.dbsession
    previous = record_body(record)
    timestamp = bump(request, collection, -1)
    record.data = None
    record.deleted = True
    record.last_modified = timestamp
    record_history(
        session,
        collection_id=collection.id,
        resource="record",
        record_id=record.id,
        action="delete",
        timestamp=timestamp,
        user_id=user_id_of(request),
        previous=previous,
    )
    return record


def _regrant(session: Session, record: Record, *, fresh: bool) -> None:
    table = RecordGrant.__table__
    if not fresh:
        session.execute(
            delete(table).where(
                table.c.collection_id == record.collection_id, table.c.record_id == record.id
            )
        )
    rows = grant_rows(record.permissions, record.created_by, "write")
    if rows:
        session.flush()  # the record row first: grants reference it
        session.execute(
            insert(table),
            [{"collection_id": record.collection_id, "record_id": record.id, **r} for r in rows],
        )


def iter_live_records(
    session: Session, collection_id: str, batch: int = 1000
) -> Iterator[tuple[str, Any]]:
    """``(id, data)`` of every live record, streamed in id order."""
    query = (
        select(Record.id, Record.data)
        .where(Record.collection_id == collection_id, Record.deleted.is_(False))
        .order_by(Record.id)
        .execution_options(yield_per=batch)
    )
    for row in session.execute(query):
        yield row.id, row.data
