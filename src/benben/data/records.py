"""Record writes: create, replace, delete (a tombstone).

Callers pass what they read without a lock (see :mod:`.storage`), authorized and checked
against the request's preconditions: each write bumps the collection (which checks its
snapshot), then changes the record only if its ``last_modified`` is still the one read, or
replays the request.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

from pyramid.request import Request
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    String,
    TextClause,
    Update,
    bindparam,
    column,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from benben.data.models import Collection, HistoryEntry, Record, RecordGrant
from benben.data.snapshots import CollectionSnapshot, RecordSnapshot, record_body
from benben.data.storage import (
    bump,
    bumped,
    collection_changed,
    grant_rows,
    now_ms,
    record_history,
    user_id_of,
)
from benben.uuids import random_uuid

__all__ = [
    "delete_record",
    "iter_live_records",
    "load_record",
    "new_record_id",
    "save_record",
]

AnyCollection = Collection | CollectionSnapshot
AnyRecord = Record | RecordSnapshot


def new_record_id() -> str:
    return random_uuid()


def load_record(session: Session, collection_id: str, record_id: str) -> Record | None:
    """The record or its tombstone; None when there is neither.  Always read from the database:
    an earlier write of this transaction (a batch) changed the row, not the loaded object."""
    return session.get(Record, (collection_id, record_id), populate_existing=True)


def save_record(
    request: Request,
    collection: AnyCollection,
    current: AnyRecord | None,
    record_id: str,
    *,
    data: dict[str, Any],
    permissions: Mapping[str, list[str]] | None,
) -> tuple[Record, bool]:
    """Create or replace a record (``current``: the row as read, live or tombstone, or None).

    ``permissions`` None keeps those of a live record (a new one gets none).  Returns the record
    as written (not attached to the session) and whether it was created.
    """
    if current is None:
        return _insert_record(request, collection, record_id, data, permissions), True
    session = request.dbsession
    live = not current.deleted
    previous = record_body(current)
    timestamp = bump(request, collection, 0 if live else 1)
    user_id = user_id_of(request)
    old_permissions = dict(current.permissions or {}) if live else None
    if not live:  # a tombstone comes back to life as a new record
        new_permissions, created_by = dict(permissions or {}), user_id
    else:
        new_permissions = (
            dict(current.permissions or {}) if permissions is None else dict(permissions)
        )
        created_by = current.created_by
    record = Record(
        collection_id=collection.id,
        id=record_id,
        data=data,
        permissions=new_permissions,
        created_by=created_by,
        last_modified=timestamp,
        deleted=False,
    )
    _update_read_row(request, collection, current, record)
    if not live or old_permissions != new_permissions:
        _regrant(session, record)
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


@functools.cache
def _record_update() -> Update:
    """Built once.  Matches only the row as it was read (its ``last_modified``)."""
    table = Record.__table__
    return (
        update(table)
        .where(
            table.c.collection_id == bindparam("cid"),
            table.c.id == bindparam("rid"),
            table.c.last_modified == bindparam("read"),
        )
        .values(
            data=bindparam("data"),
            permissions=bindparam("permissions"),
            created_by=bindparam("created_by"),
            last_modified=bindparam("last_modified"),
            deleted=bindparam("deleted"),
        )
    )


def _update_read_row(
    request: Request, collection: AnyCollection, read: AnyRecord, record: Record
) -> None:
    """Write ``record`` over the row ``read``; replay the request when the row changed since
    (its ``last_modified`` is not the one read).  After the bump: the collection's lock is held,
    so no other writer can change the row until this transaction ends."""
    result = request.dbsession.connection().execute(
        _record_update(),
        {
            "cid": collection.id,
            "rid": record.id,
            "read": read.last_modified,
            "data": record.data,
            "permissions": record.permissions,
            "created_by": record.created_by,
            "last_modified": record.last_modified,
            "deleted": record.deleted,
        },
    )
    if result.rowcount != 1:
        collection_changed(request, collection.id)


def _insert_record(
    request: Request,
    collection: AnyCollection,
    record_id: str,
    data: dict[str, Any],
    permissions: Mapping[str, list[str]] | None,
) -> Record:
    """A new record: the hottest write.  Its grants and history entry are written with it; on
    PostgreSQL the bump and the three INSERTs are one statement (one round trip).  An id taken
    meanwhile (a concurrent PUT of the same new id) replays the request, which then finds it."""
    session = request.dbsession
    user_id = user_id_of(request)
    permissions = dict(permissions or {})
    grants = grant_rows(permissions, user_id, "write")
    body = {"data": data, "permissions": permissions}
    try:
        if session.get_bind().dialect.name == "postgresql":
            parameters = {
                "cid": collection.id,
                "now": now_ms(),
                "rid": record_id,
                "data": data,
                "permissions": permissions,
                "user_id": user_id,
                "grants": grants,
                "history": body,
            }
            row = session.connection().execute(_create_statement(), parameters).one_or_none()
            timestamp = bumped(request, collection, row)
        else:
            timestamp = _insert_record_statements(
                request, collection, record_id, data, permissions, grants
            )
    except IntegrityError:
        collection_changed(request, collection.id)
    # The object answered is transient (the row was written by Core, not the unit of work):
    # later reads in this transaction load the row itself.
    return Record(
        collection_id=collection.id,
        id=record_id,
        data=data,
        permissions=permissions,
        created_by=user_id,
        last_modified=timestamp,
        deleted=False,
    )


def _insert_record_statements(
    request: Request,
    collection: AnyCollection,
    record_id: str,
    data: dict[str, Any],
    permissions: dict[str, list[str]],
    grants: list[dict[str, str]],
) -> int:
    """SQLite: the bump and the three INSERTs one by one (no round trip to save)."""
    session = request.dbsession
    user_id = user_id_of(request)
    timestamp = bump(request, collection, 1)
    connection = session.connection()
    connection.execute(
        RECORD_INSERT,
        {
            "collection_id": collection.id,
            "id": record_id,
            "data": data,
            "permissions": permissions,
            "created_by": user_id,
            "last_modified": timestamp,
            "deleted": False,
        },
    )
    if grants:
        connection.execute(
            GRANTS_INSERT,
            [{"collection_id": collection.id, "record_id": record_id, **g} for g in grants],
        )
    record_history(
        session,
        collection_id=collection.id,
        resource="record",
        record_id=record_id,
        action="create",
        timestamp=timestamp,
        user_id=user_id,
        data={"data": data, "permissions": permissions},
    )
    return timestamp


# Built once: constructing an INSERT per write cost more CPU than executing it.
RECORD_INSERT = insert(Record.__table__)
GRANTS_INSERT = insert(RecordGrant.__table__)


@functools.cache
def _create_statement() -> TextClause:
    """PostgreSQL: bump the collection (see :mod:`.storage`), insert the record, its grants and
    its history entry, in one statement.  The bump's row is returned, so the caller handles it
    as any bump's; when the collection is gone, nothing is inserted (no row in ``bump``)."""
    collections, records = Collection.__table__.name, Record.__table__.name
    grants, history = RecordGrant.__table__.name, HistoryEntry.__table__.name
    parameters = [
        bindparam("now", type_=BigInteger()),
        bindparam("cid", type_=String()),
        bindparam("rid", type_=String()),
        bindparam("data", type_=JSONB()),
        bindparam("permissions", type_=JSON()),
        bindparam("user_id", type_=String()),
        bindparam("grants", type_=JSONB()),
        bindparam("history", type_=JSON()),
    ]
    # Table names are this module's constants; every value is a bound parameter.
    return (
        text(
            f"""
            WITH bump AS (
                UPDATE {collections}
                   SET last_modified = greatest(last_modified + 1, :now),
                       record_count = record_count + 1
                 WHERE id = :cid
             RETURNING last_modified, record_count, updated_at
            ), new_record AS (
                INSERT INTO {records}
                       (collection_id, id, data, permissions, created_by, last_modified, deleted)
                SELECT :cid, :rid, :data, :permissions, :user_id, bump.last_modified, false
                  FROM bump
             RETURNING collection_id, id, last_modified
            ), new_grants AS (
                INSERT INTO {grants} (collection_id, record_id, permission, principal)
                SELECT new_record.collection_id, new_record.id, g.permission, g.principal
                  FROM new_record,
                       jsonb_to_recordset(:grants) AS g(permission text, principal text)
            ), new_history AS (
                INSERT INTO {history}
                       (collection_id, resource, record_id, action, user_id, timestamp, data)
                SELECT new_record.collection_id, 'record', new_record.id, 'create', :user_id,
                       new_record.last_modified, :history
                  FROM new_record
            )
            SELECT last_modified, record_count, updated_at FROM bump
            """  # noqa: S608
        )
        .bindparams(*parameters)
        .columns(
            column("last_modified", BigInteger()),
            column("record_count", Integer()),
            column("updated_at", DateTime(timezone=True)),
        )
    )


def delete_record(request: Request, collection: AnyCollection, record: AnyRecord) -> Record:
    """Turn a live record (as read) into its tombstone (kept for ``_since`` syncs until retention
    drops it).  Its grants stay, so that those who could read it learn of the deletion."""
    previous = record_body(record)
    timestamp = bump(request, collection, -1)
    tombstone = Record(
        collection_id=collection.id,
        id=record.id,
        data=None,
        permissions=dict(record.permissions or {}),
        created_by=record.created_by,
        last_modified=timestamp,
        deleted=True,
    )
    _update_read_row(request, collection, record, tombstone)
    record_history(
        request.dbsession,
        collection_id=collection.id,
        resource="record",
        record_id=record.id,
        action="delete",
        timestamp=timestamp,
        user_id=user_id_of(request),
        previous=previous,
    )
    return tombstone


def _regrant(session: Session, record: Record) -> None:
    """Replace a (loaded) record's grants with those of its permissions and creator."""
    table = RecordGrant.__table__
    session.execute(
        delete(table).where(
            table.c.collection_id == record.collection_id, table.c.record_id == record.id
        )
    )
    rows = grant_rows(record.permissions, record.created_by, "write")
    if rows:
        session.execute(
            GRANTS_INSERT,
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
