"""Writes to the data tables, shared by the REST views and the batch endpoint.

Time and order: every change to a collection or to one of its records first *bumps* the
collection row::

    UPDATE benben_collections
       SET last_modified = greatest(last_modified + 1, <now ms>), record_count = record_count + d
     WHERE id = :cid RETURNING last_modified

The new value is the change's ``last_modified``.  The UPDATE takes the row's lock until commit,
so writers to one collection commit one after the other, in the order of their timestamps: a
client syncing with ``_since`` never misses a change, and timestamps never collide (no 409).

Record writes read without a lock (a snapshot, often from memory, as reads do), validate,
authorize and test preconditions against what they read, then write conditionally: the bump
checks that the collection's settings (schema, permissions: ``updated_at``) are still those of
the snapshot, and the record's UPDATE matches only the ``last_modified`` that was read.  When
either changed meanwhile, the transaction is aborted and the request replayed (pyramid_retry),
reading anew, so preconditions are judged against what is current.  That replay locks the
collection's row before reading (as collection writes do), so it cannot lose again: a hot
record costs its writers one replay at most, never a 409.  Writes to a collection
itself (rare) lock its row first (``SELECT ... FOR UPDATE``); a batch locks the collections it
writes in id order (see :mod:`.batch`).

History: each change inserts one :class:`HistoryEntry` (who, when, what, the new and previous
values) in the same transaction, and publishes its event to the change feed
(:mod:`benben.events`).  Grants: ``permissions`` are mirrored into
:class:`CollectionGrant` / :class:`RecordGrant` rows, so that lists are filtered in SQL.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

from pyramid.request import Request
from pyramid_retry import mark_error_retryable
from sqlalchemy import Update, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from benben.data.announce import announce_after_commit, announce_outdated
from benben.data.indexes import drop_indexes, ensure_indexes
from benben.data.models import Collection, CollectionGrant, HistoryEntry
from benben.data.search import DEFAULT_LANGUAGE
from benben.data.search_index import search_declaration, sync_search_index
from benben.data.snapshots import CollectionSnapshot, successor
from benben.errors import ProblemError
from benben.events.feed import publish
from benben.security.principals import user_principal
from benben.timestamps import iso, utcnow

__all__ = [
    "CollectionChangedError",
    "CollectionExistsError",
    "bump",
    "bumped",
    "collection_changed",
    "collection_fields",
    "collection_json",
    "create_collection",
    "delete_collection",
    "grant_rows",
    "load_collection",
    "now_ms",
    "record_history",
    "replace_collection",
    "replaying_after_conflict",
    "user_id_of",
]

COLLECTION_FIELDS = ("title", "description", "schema", "indexed_fields", "searchable_fields",
                     "search_language", "permissions")  # fmt: skip
COLLECTION_DEFAULTS: Mapping[str, Any] = {
    "title": "",
    "description": "",
    "schema": None,
    "indexed_fields": [],
    "searchable_fields": [],
    "search_language": DEFAULT_LANGUAGE,
    "permissions": {},
}


class CollectionExistsError(Exception):
    """A collection with this id was created first (possibly concurrently)."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def user_id_of(request: Request) -> str | None:
    identity = request.identity
    return identity.user_id if identity is not None else None


def load_collection(
    session: Session, collection_id: str, *, lock: bool = False
) -> Collection | None:
    """The collection; with ``lock``, its row locked until commit (PostgreSQL ``FOR UPDATE``;
    on SQLite a writer's transaction holds the database's write lock from its first statement)."""
    query = select(Collection).where(Collection.id == collection_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query.execution_options(populate_existing=True)).one_or_none()


@functools.cache
def _bump_statement(dialect: str) -> Update:
    """Built once per dialect (every write runs it; constructing it costs more than running)."""
    table = Collection.__table__
    greatest = func.greatest if dialect == "postgresql" else func.max
    return (
        update(table)
        .where(table.c.id == bindparam("cid"))
        .values(
            last_modified=greatest(table.c.last_modified + 1, bindparam("now")),
            record_count=table.c.record_count + bindparam("delta"),
        )
        .returning(table.c.last_modified, table.c.record_count, table.c.updated_at)
    )


class CollectionChangedError(Exception):
    """What a write read without a lock (the collection's settings, or the record it replaces)
    changed before it wrote: the request is replayed (pyramid_retry), reading them anew."""


def bump(
    request: Request, collection: Collection | CollectionSnapshot, record_delta: int = 0
) -> int:
    """The next ``last_modified`` of ``collection`` (see the module's docstring); 404 when the
    collection was deleted meanwhile.  Announced to every instance after commit.

    ``collection`` may be a snapshot read without the lock (record writes): taking the lock
    here, the write then checks that the settings it validated and authorized against (schema,
    permissions: ``updated_at``) are still those of the collection, or replays the request.
    The locked row of a collection write is updated in place.
    """
    session = request.dbsession
    statement = _bump_statement(session.get_bind().dialect.name)
    parameters = {"cid": collection.id, "now": now_ms(), "delta": record_delta}
    # Core statements straight on the connection: the ORM session's execute adds ~20 us each.
    row = session.connection().execute(statement, parameters).one_or_none()
    return bumped(request, collection, row)


def bumped(request: Request, collection: Collection | CollectionSnapshot, row: Any | None) -> int:
    """What :func:`bump` does with the bumped row (``last_modified``, ``record_count``,
    ``updated_at``; None when the collection is gone), for statements that bump as part of a
    larger one."""
    if row is None:
        raise ProblemError(404, detail=f"No collection {collection.id}: it was just deleted.")
    session = request.dbsession
    if isinstance(collection, Collection):
        set_committed_value(collection, "last_modified", row.last_modified)
        set_committed_value(collection, "record_count", row.record_count)
    elif iso(row.updated_at) != iso(collection.updated_at):
        collection_changed(request, collection.id)  # the transaction is aborted: undone
    else:
        after = successor(collection, row)
        announce_after_commit(request, session, collection.id, after.last_modified, after)
        return after.last_modified
    announce_after_commit(request, session, collection.id, int(row.last_modified))
    return int(row.last_modified)


# In the environ, which pyramid_retry keeps across attempts: the write lost a race once.
_CONFLICT_ENVIRON_KEY = "benben.data.write_conflict"


def replaying_after_conflict(request: Request) -> bool:
    """Whether this attempt replays a write that found what it read changed: it locks first."""
    return _CONFLICT_ENVIRON_KEY in request.environ


def collection_changed(request: Request, collection_id: str) -> NoReturn:
    """Replay the request: what it was validated and authorized against (the collection's
    settings, or the record it replaces) changed, or the collection was deleted, since it was
    read."""
    announce_outdated(request, collection_id)  # the replay reads it from the database
    request.environ[_CONFLICT_ENVIRON_KEY] = True
    mark_error_retryable(error := CollectionChangedError(collection_id))
    raise error


# Built once: constructing an INSERT per write cost more CPU than executing it.
HISTORY_INSERT = insert(HistoryEntry.__table__).inline()


def record_history(
    session: Session,
    *,
    collection_id: str,
    resource: str,
    action: str,
    timestamp: int,
    user_id: str | None,
    record_id: str | None = None,
    data: Any = None,
    previous: Any = None,
) -> None:
    """One INSERT: the change, with its new and previous values."""
    session.connection().execute(
        HISTORY_INSERT,
        {
            "collection_id": collection_id,
            "resource": resource,
            "record_id": record_id,
            "action": action,
            "user_id": user_id,
            "timestamp": timestamp,
            "data": data,
            "previous": previous,
        },
    )


# -- collections ------------------------------------------------------------------------------


def collection_fields(collection: Collection) -> dict[str, Any]:
    """What a client sets on a collection: the body a PATCH applies to."""
    return {
        "title": collection.title,
        "description": collection.description,
        "schema": collection.schema,
        "indexed_fields": list(collection.indexed_fields or []),
        "searchable_fields": list(collection.searchable_fields or []),
        "search_language": collection.search_language or DEFAULT_LANGUAGE,
        "permissions": dict(collection.permissions or {}),
    }


def collection_json(
    collection: Collection, *, show_permissions: bool, show_count: bool = True
) -> dict[str, Any]:
    """``show_count`` False: ``record_count`` is null (the caller may not read every record)."""
    result: dict[str, Any] = {"id": collection.id, **collection_fields(collection)}
    if not show_permissions:
        del result["permissions"]
    result.update(
        created_by=collection.created_by,
        created_at=iso(collection.created_at),
        updated_at=iso(collection.updated_at),
        last_modified=collection.last_modified,
        record_count=collection.record_count if show_count else None,
    )
    return result


def create_collection(
    request: Request, collection_id: str, fields: Mapping[str, Any]
) -> Collection:
    """Insert a collection (fields already validated); CollectionExistsError if the id is taken."""
    session = request.dbsession
    user_id = user_id_of(request)
    now = utcnow()
    values = {**COLLECTION_DEFAULTS, **fields}
    collection = Collection(
        id=collection_id,
        created_by=user_id,
        created_at=now,
        updated_at=now,
        last_modified=now_ms(),
        record_count=0,
        **values,
    )
    session.add(collection)
    try:
        session.flush()
    except IntegrityError:
        raise CollectionExistsError(collection_id) from None
    _insert_collection_grants(session, collection)
    if collection.indexed_fields:
        ensure_indexes(session, collection_id, (), collection.indexed_fields)
    sync_search_index(request, collection_id, None, search_declaration(collection))
    record_history(
        session,
        collection_id=collection_id,
        resource="collection",
        action="create",
        timestamp=collection.last_modified,
        user_id=user_id,
        data=collection_fields(collection),
    )
    publish(
        request,
        "collection.created",
        collection_fields(collection),
        collection_id=collection_id,
        last_modified=collection.last_modified,
    )
    announce_after_commit(request, session, collection_id, collection.last_modified)
    return collection


def replace_collection(
    request: Request, collection: Collection, fields: Mapping[str, Any]
) -> Collection:
    """Set every client field of a (locked) collection; the version is bumped."""
    session = request.dbsession
    previous = collection_fields(collection)
    timestamp = bump(request, collection)
    new = {**COLLECTION_DEFAULTS, **fields}
    for name in COLLECTION_FIELDS:
        setattr(collection, name, new[name])
    collection.updated_at = utcnow()
    if previous["permissions"] != new["permissions"]:
        session.execute(
            delete(CollectionGrant.__table__).where(
                CollectionGrant.__table__.c.collection_id == collection.id
            )
        )
        _insert_collection_grants(session, collection)
    if previous["indexed_fields"] != new["indexed_fields"]:
        ensure_indexes(session, collection.id, previous["indexed_fields"], new["indexed_fields"])
    sync_search_index(request, collection.id, search_declaration(previous), search_declaration(new))
    record_history(
        session,
        collection_id=collection.id,
        resource="collection",
        action="update",
        timestamp=timestamp,
        user_id=user_id_of(request),
        data=collection_fields(collection),
        previous=previous,
    )
    publish(
        request,
        "collection.updated",
        {**collection_fields(collection), "previous": previous},
        collection_id=collection.id,
        last_modified=timestamp,
    )
    if previous["permissions"] != new["permissions"]:
        publish(
            request,
            "collection.permissions_changed",
            {"permissions": new["permissions"], "previous": previous["permissions"]},
            collection_id=collection.id,
            last_modified=timestamp,
        )
    return collection


def delete_collection(request: Request, collection: Collection) -> None:
    """Delete a collection and (cascading in the database) its records and grants; its history
    stays until retention drops it."""
    session = request.dbsession
    previous = collection_fields(collection)
    timestamp = bump(request, collection)
    if collection.indexed_fields:
        drop_indexes(session, collection.id, collection.indexed_fields)
    sync_search_index(request, collection.id, search_declaration(collection), None, deleting=True)
    record_history(
        session,
        collection_id=collection.id,
        resource="collection",
        action="delete",
        timestamp=timestamp,
        user_id=user_id_of(request),
        previous=previous,
    )
    publish(
        request,
        "collection.deleted",
        {"previous": previous, "created_by": collection.created_by},  # who could read it
        collection_id=collection.id,
        last_modified=timestamp,
    )
    session.execute(delete(Collection.__table__).where(Collection.__table__.c.id == collection.id))
    session.expunge(collection)


def _insert_collection_grants(session: Session, collection: Collection) -> None:
    rows = grant_rows(collection.permissions, collection.created_by, "admin")
    if rows:
        session.execute(
            insert(CollectionGrant.__table__),
            [{"collection_id": collection.id, **row} for row in rows],
        )


def grant_rows(
    permissions: Mapping[str, Iterable[str]] | None, creator: str | None, creator_permission: str
) -> list[dict[str, str]]:
    """``[{"permission", "principal"}]`` for ``permissions`` plus the creator's own grant."""
    pairs = {
        (permission, principal)
        for permission, principals in (permissions or {}).items()
        for principal in principals
    }
    if creator:
        pairs.add((creator_permission, user_principal(creator)))
    return [{"permission": p, "principal": who} for p, who in sorted(pairs)]
