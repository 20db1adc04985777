"""Record writes statement by statement: a creation on SQLite (no round trip to save there, see
:mod:`.record_statements` for PostgreSQL's one statement), and a record's grants rewritten."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from benben.data.models import Collection, Record, RecordGrant
from benben.data.snapshots import CollectionSnapshot, RecordSnapshot
from benben.data.storage import bump, grant_rows, record_history, user_id_of
from benben.events.feed import feed_enabled, publish

__all__ = ["GRANTS_INSERT", "RECORD_INSERT", "insert_record_rows", "regrant"]

AnyCollection = Collection | CollectionSnapshot


def insert_record_rows(
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
    if feed_enabled(request.registry):
        publish(
            request,
            "record.created",
            {"data": data, "permissions": permissions},
            collection_id=collection.id,
            record_id=record_id,
            last_modified=timestamp,
        )
    return timestamp


# Built once: constructing an INSERT per write cost more CPU than executing it.
RECORD_INSERT = insert(Record.__table__)
GRANTS_INSERT = insert(RecordGrant.__table__)


def regrant(session: Session, record: RecordSnapshot) -> None:
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
