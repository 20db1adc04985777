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
    Select,
    Update,
    bindparam,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from benben.data.models import Collection, Record
from benben.data.record_rows import insert_record_rows, regrant
from benben.data.record_statements import change_statement, create_statement
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
from benben.events.feed import feed_enabled, note_published, publish
from benben.uuids import random_uuid

__all__ = [
    "change_members",
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


def load_record(session: Session, collection_id: str, record_id: str) -> RecordSnapshot | None:
    """The record or its tombstone; None when there is neither.  Read from the database, and
    by Core: an earlier write of this transaction (a batch) changed the row, which an ORM object
    in the session would not show, and building a snapshot from a row costs a fraction of an
    ORM object.  (``session.execute``, not its connection: a GET's read may go to a replica.)"""
    row = session.execute(_record_select(), {"cid": collection_id, "rid": record_id}).first()
    if row is None:
        return None
    values = dict(zip(_SNAPSHOT_COLUMNS, row, strict=True))
    values["permissions"] = dict(values["permissions"] or {})
    return RecordSnapshot(**values)


@functools.cache
def _record_select() -> Select[Any]:
    """Built once: the columns of a :class:`RecordSnapshot`."""
    table = Record.__table__
    columns = [table.c[name] for name in _SNAPSHOT_COLUMNS]
    return select(*columns).where(
        table.c.collection_id == bindparam("cid"), table.c.id == bindparam("rid")
    )


_SNAPSHOT_COLUMNS = (
    "collection_id",
    "id",
    "data",
    "permissions",
    "created_by",
    "last_modified",
    "deleted",
    "members",
)


def save_record(
    request: Request,
    collection: AnyCollection,
    current: AnyRecord | None,
    record_id: str,
    *,
    data: dict[str, Any],
    permissions: Mapping[str, list[str]] | None,
) -> tuple[RecordSnapshot, bool]:
    """Create or replace a record (``current``: the row as read, live or tombstone, or None).

    ``permissions`` None keeps those of a live record (a new one gets none).  Returns the record
    as written and whether it was created.  Written by Core statements, answered as a snapshot:
    building an ORM object only to answer it cost more than the rest of the write's Python.
    """
    if current is None:
        return _insert_record(request, collection, record_id, data, permissions), True
    live = not current.deleted
    if not live:  # a tombstone comes back to life as a new record
        new_permissions, created_by = dict(permissions or {}), user_id_of(request)
    elif permissions is None:
        new_permissions, created_by = dict(current.permissions or {}), current.created_by
    else:
        new_permissions, created_by = dict(permissions), current.created_by
    record = _change_record(
        request,
        collection,
        current,
        "update" if live else "create",
        data=data,
        permissions=new_permissions,
        created_by=created_by,
        members=current.members if live else None,
    )
    if not live or dict(current.permissions or {}) != new_permissions:
        regrant(request.dbsession, record)
        if live:
            publish(
                request,
                "record.permissions_changed",
                {"permissions": new_permissions, "previous": dict(current.permissions or {})},
                collection_id=collection.id,
                record_id=record_id,
                last_modified=record.last_modified,
            )
    return record, not live


def delete_record(request: Request, collection: AnyCollection, record: AnyRecord) -> RecordSnapshot:
    """Turn a live record (as read) into its tombstone (kept for ``_since`` syncs until retention
    drops it).  Its grants stay, so that those who could read it learn of the deletion."""
    return _change_record(
        request,
        collection,
        record,
        "delete",
        data=None,
        permissions=dict(record.permissions or {}),
        created_by=record.created_by,
    )


_RECORD_DELTAS = {"update": 0, "create": 1, "delete": -1}  # a re-creation revives a tombstone
_EVENT_TYPES = {"update": "record.updated", "create": "record.created", "delete": "record.deleted"}


def _change_record(
    request: Request,
    collection: AnyCollection,
    read: AnyRecord,
    action: str,
    *,
    data: dict[str, Any] | None,
    permissions: dict[str, list[str]],
    created_by: str | None,
    members: dict[str, Any] | None = None,
) -> RecordSnapshot:
    """Write the record (a tombstone for ``delete``) over the row ``read``, with the bump and
    the history entry; the record as written.  ``members``: the plugins' members it then has
    (a tombstone and a re-created record have none; a replace keeps those read).  The request
    is replayed when the row changed since it was read (its ``last_modified`` is no longer the
    one read): after the bump, the collection's lock is held, so no other writer can change the
    row until this transaction ends."""
    session = request.dbsession
    user_id = user_id_of(request)
    deleted = action == "delete"
    values = {
        "cid": collection.id,
        "rid": read.id,
        "read": read.last_modified,
        "data": data,
        "permissions": permissions,
        "created_by": created_by,
        "deleted": deleted,
        "members": members or None,
    }
    previous = record_body(read)
    history = None if deleted else {"data": data, "permissions": permissions}
    with_event = feed_enabled(request.registry)
    if session.get_bind().dialect.name == "postgresql":
        parameters = {
            **values,
            "now": (now := now_ms()),
            "delta": _RECORD_DELTAS[action],
            "action": action,
            "user_id": user_id,
            "history": history,
            "previous": previous,
        }
        if with_event:
            parameters["event_type"] = _EVENT_TYPES[action]
        statement = change_statement(with_event)
        row = session.connection().execute(statement, parameters).one_or_none()
        last_modified = bumped(request, collection, row)
        if not row.changed:
            collection_changed(request, collection.id)
        if with_event:
            note_published(
                request,
                _EVENT_TYPES[action],
                history,
                collection_id=collection.id,
                record_id=read.id,
                last_modified=last_modified,
                occurred_at=now,
            )
    else:
        last_modified = bump(request, collection, _RECORD_DELTAS[action])
        result = session.connection().execute(
            _record_update(), {**values, "last_modified": last_modified}
        )
        if result.rowcount != 1:
            collection_changed(request, collection.id)
        record_history(
            session,
            collection_id=collection.id,
            resource="record",
            record_id=read.id,
            action=action,
            timestamp=last_modified,
            user_id=user_id,
            data=history,
            previous=previous,
        )
        if with_event:
            publish(
                request,
                _EVENT_TYPES[action],
                history,
                collection_id=collection.id,
                record_id=read.id,
                last_modified=last_modified,
            )
    return RecordSnapshot(
        collection_id=collection.id,
        id=read.id,
        data=data,
        permissions=permissions,
        created_by=created_by,
        last_modified=last_modified,
        deleted=deleted,
        members=members or None,
    )


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
            members=bindparam("members"),
        )
    )


def _insert_record(
    request: Request,
    collection: AnyCollection,
    record_id: str,
    data: dict[str, Any],
    permissions: Mapping[str, list[str]] | None,
) -> RecordSnapshot:
    """A new record: the hottest write.  Its grants and history entry are written with it; on
    PostgreSQL the bump and the three INSERTs are one statement (one round trip).  An id taken
    meanwhile (a concurrent PUT of the same new id) replays the request, which then finds it."""
    session = request.dbsession
    user_id = user_id_of(request)
    permissions = dict(permissions or {})
    grants = grant_rows(permissions, user_id, "write")
    body = {"data": data, "permissions": permissions}
    with_event = feed_enabled(request.registry)
    try:
        if session.get_bind().dialect.name == "postgresql":
            parameters = {
                "cid": collection.id,
                "now": (now := now_ms()),
                "rid": record_id,
                "data": data,
                "permissions": permissions,
                "user_id": user_id,
                "grants": grants,
                "history": body,
            }
            if with_event:
                parameters["event_type"] = "record.created"
            statement = create_statement(with_event)
            row = session.connection().execute(statement, parameters).one_or_none()
            timestamp = bumped(request, collection, row)
            if with_event:
                note_published(
                    request,
                    "record.created",
                    body,
                    collection_id=collection.id,
                    record_id=record_id,
                    last_modified=timestamp,
                    occurred_at=now,
                )
        else:
            timestamp = insert_record_rows(
                request, collection, record_id, data, permissions, grants
            )
    except IntegrityError as error:
        if not _id_taken(error):
            raise
        collection_changed(request, collection.id)
    return RecordSnapshot(
        collection_id=collection.id,
        id=record_id,
        data=data,
        permissions=permissions,
        created_by=user_id,
        last_modified=timestamp,
        deleted=False,
    )


def _id_taken(error: IntegrityError) -> bool:
    """Whether the INSERT met the record's primary key taken (PostgreSQL unique_violation;
    SQLite names the constraint)."""
    if getattr(error.orig, "sqlstate", None) == "23505":
        return True
    return "UNIQUE constraint failed" in str(error.orig)


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


def change_members(
    request: Request, collection: AnyCollection, record: AnyRecord, members: dict[str, Any]
) -> RecordSnapshot:
    """Write a live record (as read) with other plugins' ``members``, its data and permissions
    unchanged: a change of the record (new ``last_modified``, history entry, event), replayed
    like any record write when the row changed since it was read."""
    return _change_record(
        request,
        collection,
        record,
        "update",
        data=record.data,
        permissions=dict(record.permissions or {}),
        created_by=record.created_by,
        members=members,
    )
