"""Record writes: create, replace, delete (a tombstone), and the records' JSON.

Callers hold the collection's lock (see :mod:`.storage`): the record they pass is the current
one, authorized and checked against the request's preconditions.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from pyramid.request import Request
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    String,
    TextClause,
    bindparam,
    column,
    delete,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from benben.data.models import Collection, HistoryEntry, Record, RecordGrant
from benben.data.storage import (
    bump,
    bumped,
    collection_changed,
    grant_rows,
    now_ms,
    record_history,
    successor,
    user_id_of,
)
from benben.db import get_engine
from benben.uuids import random_uuid

if TYPE_CHECKING:
    from benben.data.readcache import CollectionSnapshot

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
    return random_uuid()


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
    collection: Collection | CollectionSnapshot,
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
    if current is None:
        return _insert_record(request, collection, record_id, data, permissions), True
    session = request.dbsession
    live = not current.deleted
    previous = record_body(current)
    timestamp = bump(request, collection, 0 if live else 1)
    user_id = user_id_of(request)
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
    if not live or old_permissions != record.permissions:
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


def _insert_record(
    request: Request,
    collection: Collection | CollectionSnapshot,
    record_id: str,
    data: dict[str, Any],
    permissions: Mapping[str, list[str]] | None,
) -> Record:
    """A new record: the hottest write.  Its grants and history entry are written with it; on
    PostgreSQL the bump and the three INSERTs are one statement (one round trip, and the
    collection's lock is held for one statement and the COMMIT)."""
    session = request.dbsession
    user_id = user_id_of(request)
    permissions = dict(permissions or {})
    grants = grant_rows(permissions, user_id, "write")
    body = {"data": data, "permissions": permissions}
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
        if _may_write_alone(request, collection):
            timestamp = _create_alone(request, collection, parameters)  # type: ignore[arg-type]
        else:
            row = session.execute(_create_statement(guarded=False), parameters).one_or_none()
            timestamp = bumped(request, collection, row)
    else:
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
            data=body,
        )
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


# Built once: constructing an INSERT per write cost more CPU than executing it.
RECORD_INSERT = insert(Record.__table__)
GRANTS_INSERT = insert(RecordGrant.__table__)


def _may_write_alone(request: Request, collection: Collection | CollectionSnapshot) -> bool:
    """Whether a creation may be its own transaction (see :func:`_create_alone`): the
    collection was not read locked, and the request's session holds no transaction (nothing
    else to commit with it, no lock of its own to wait for)."""
    if isinstance(collection, Collection):
        return False
    session = request.__dict__.get("dbsession")  # reified: absent until first used
    return session is None or not session.in_transaction()


def _create_alone(
    request: Request, collection: CollectionSnapshot, parameters: dict[str, Any]
) -> int:
    """Create the record with one statement in a transaction of its own.

    One statement is atomic: the bump, the record, its grants and its history entry are
    committed together or not at all.  Alone, the collection's lock is held only while the
    server runs that statement, not across round trips to this process and its waits for the
    GIL, so concurrent creators of one collection no longer queue behind each other's Python.
    The statement writes only if the collection's settings are still those of the snapshot the
    request validated and authorized against (``updated_at``); otherwise it writes nothing and
    the request is replayed, reading the collection anew (404 if it was deleted).
    """
    from benben.data.readcache import announce_committed

    engine = get_engine(request.registry)
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        statement = _create_statement(guarded=True)
        row = connection.execute(
            statement, {**parameters, "expected": collection.updated_at}
        ).one_or_none()
    if row is None:  # changed or deleted: nothing was written
        collection_changed(request, collection.id)
    after = successor(collection, row)
    announce_committed(request, {collection.id: after.last_modified}, [after])
    return after.last_modified


@functools.cache
def _create_statement(*, guarded: bool) -> TextClause:
    """PostgreSQL: bump the collection (see :mod:`.storage`), insert the record, its grants and
    its history entry, in one statement.  The bump's row is returned, so the caller handles it
    as any bump's; when the collection is gone, nothing is inserted (no row in ``bump``).
    ``guarded``: only if the collection's ``updated_at`` is still ``:expected``."""
    collections, records = Collection.__table__.name, Record.__table__.name
    grants, history = RecordGrant.__table__.name, HistoryEntry.__table__.name
    guard = " AND updated_at = :expected" if guarded else ""
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
    if guarded:
        parameters.append(bindparam("expected", type_=DateTime(timezone=True)))
    # Table names and the guard are this module's constants; every value is a bound parameter.
    return (
        text(
            f"""
            WITH bump AS (
                UPDATE {collections}
                   SET last_modified = greatest(last_modified + 1, :now),
                       record_count = record_count + 1
                 WHERE id = :cid{guard}
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


def delete_record(
    request: Request, collection: Collection | CollectionSnapshot, record: Record
) -> Record:
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
