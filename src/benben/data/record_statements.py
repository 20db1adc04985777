"""PostgreSQL: a record write as one statement (one round trip, the collection's lock held for
that statement and the COMMIT only).

Each bumps the collection (see :mod:`.storage`) and returns the bump's row (``last_modified``,
``record_count``, ``updated_at``), so the caller handles it as any bump's; when the collection is
gone there is no bump row and nothing else is written.  Table names are the models'; every value
is a bound parameter.

With the change feed on (``benben.events.enabled``), each also inserts the change's event
(:mod:`benben.events`): the same data as the history entry, in the same statement.
"""

from __future__ import annotations

import functools

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    String,
    TextClause,
    bindparam,
    column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from benben.data.models import Collection, HistoryEntry, Record, RecordGrant
from benben.events.models import EventRow

__all__ = ["change_statement", "create_statement"]

_BUMP_COLUMNS = (
    column("last_modified", BigInteger()),
    column("record_count", Integer()),
    column("updated_at", DateTime(timezone=True)),
)


def _event_cte(source: str, record_id: str) -> str:
    """The change's event, inserted from the CTE ``source`` (which has the new last_modified);
    its data is the history entry's (``:history``, bound once)."""
    return f"""
            , new_event AS (
                INSERT INTO {EventRow.__table__.name}
                       (type, occurred_at, actor, collection_id, record_id, last_modified, data)
                SELECT :event_type, :now, :user_id, :cid, {record_id}, {source}.last_modified,
                       :history
                  FROM {source}
            )"""  # noqa: S608


@functools.cache
def create_statement(with_event: bool = False) -> TextClause:
    """Bump the collection, insert the record, its grants and its history entry (and with
    ``with_event``, its event: ``:event_type``)."""
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
    if with_event:
        parameters.append(bindparam("event_type", type_=String()))
    event = _event_cte("new_record", "new_record.id") if with_event else ""
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
            ){event}
            SELECT last_modified, record_count, updated_at FROM bump
            """  # noqa: S608
        )
        .bindparams(*parameters)
        .columns(*_BUMP_COLUMNS)
    )


@functools.cache
def change_statement(with_event: bool = False) -> TextClause:
    """Bump the collection (``record_count`` by ``:delta``), overwrite the record if its
    ``last_modified`` is still ``:read``, and insert the history entry of the change.  The bump
    waits for the collection's lock; the record's row is then matched against its newest
    committed version (PostgreSQL re-checks an updated row's condition), so a write committed
    meanwhile makes ``changed`` 0, and the caller aborts the transaction.  ``with_event``: the
    change's event too (``:event_type``)."""
    collections, records = Collection.__table__.name, Record.__table__.name
    history = HistoryEntry.__table__.name
    event = _event_cte("changed", "changed.id") if with_event else ""
    extra = [bindparam("event_type", type_=String())] if with_event else []
    return (
        text(
            f"""
            WITH bump AS (
                UPDATE {collections}
                   SET last_modified = greatest(last_modified + 1, :now),
                       record_count = record_count + :delta
                 WHERE id = :cid
             RETURNING last_modified, record_count, updated_at
            ), changed AS (
                UPDATE {records}
                   SET data = :data, permissions = :permissions, created_by = :created_by,
                       last_modified = bump.last_modified, deleted = :deleted,
                       members = :members
                  FROM bump
                 WHERE collection_id = :cid AND id = :rid AND {records}.last_modified = :read
             RETURNING {records}.id, {records}.last_modified
            ), new_history AS (
                INSERT INTO {history}
                       (collection_id, resource, record_id, action, user_id, timestamp, data,
                        previous)
                SELECT :cid, 'record', changed.id, :action, :user_id, changed.last_modified,
                       :history, :previous
                  FROM changed
            ){event}
            SELECT last_modified, record_count, updated_at,
                   (SELECT count(*) FROM changed) AS changed
              FROM bump
            """  # noqa: S608
        )
        .bindparams(
            bindparam("now", type_=BigInteger()),
            bindparam("delta", type_=Integer()),
            bindparam("cid", type_=String()),
            bindparam("rid", type_=String()),
            bindparam("read", type_=BigInteger()),
            bindparam("data", type_=JSONB()),
            bindparam("permissions", type_=JSON()),
            bindparam("created_by", type_=String()),
            bindparam("deleted", type_=Boolean()),
            bindparam("members", type_=JSON()),
            bindparam("action", type_=String()),
            bindparam("user_id", type_=String()),
            bindparam("history", type_=JSON()),
            bindparam("previous", type_=JSON()),
            *extra,
        )
        .columns(*_BUMP_COLUMNS, column("changed", Integer()))
    )
