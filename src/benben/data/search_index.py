"""A collection's search index kept in step with its declaration (``searchable_fields``,
``search_language``); the SQL of the search itself is in :mod:`.search`.

- SQLite: in the transaction that changes the declaration, the collection's rows of the FTS5
  table are rewritten (SQLite has one writer at a time anyway).  From then on the triggers keep
  them with every record write.
- PostgreSQL: each record's ``search_vector`` is written by a trigger under the declaration
  committed when the record is written.  A declaration change marks the collection's vectors
  not ready in its transaction (:mod:`.search_postgresql`): searches evaluate the expression
  from then on, right at once.  After the change commits, the task
  ``benben.data.search_index`` drops the collection's GIN index on the column (``DROP INDEX
  CONCURRENTLY``), recomputes the vectors in batches of short transactions (writes go on),
  builds the index again with ``CREATE INDEX CONCURRENTLY``, analyzes the table, and marks the
  vectors ready unless another change came meanwhile.  The task is idempotent and keyed by the
  collection: it reads the declaration when it runs, so repeated or overlapping changes
  converge on the last one; runs for one collection take turns (an advisory lock); an index a
  failed build left invalid is dropped and built again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from pyramid.request import Request
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from benben.data.jsonkeys import collection_is
from benben.data.models import Record
from benben.data.search import DEFAULT_LANGUAGE, SEARCH_TABLE
from benben.data.search_postgresql import (
    invalidate_vectors,
    mark_ready,
    recompute_vectors,
    vector_generation,
)
from benben.db import get_engine
from benben.worker.tasks import TaskContext, enqueue_task

__all__ = [
    "SEARCH_INDEX_TASK",
    "Declaration",
    "build_search_index",
    "search_declaration",
    "search_index_name",
    "sync_search_index",
]

log = logging.getLogger(__name__)

SEARCH_INDEX_TASK = "benben.data.search_index"
_PREFIX = "ix_benben_rs_"
_ATTEMPTS = 3

# (fields, language) of a searchable collection; None when it searches nothing.
Declaration = tuple[tuple[str, ...], str] | None


def search_declaration(collection: Any) -> Declaration:
    """The declaration of a collection (a row, a snapshot, or its fields as a mapping)."""
    if isinstance(collection, Mapping):
        fields, language = collection.get("searchable_fields"), collection.get("search_language")
    else:
        fields, language = collection.searchable_fields, collection.search_language
    if not fields:
        return None
    return tuple(fields), language or DEFAULT_LANGUAGE


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _collection_prefix(collection_id: str) -> str:
    return f"{_PREFIX}{_digest(collection_id)}_"


def search_index_name(collection_id: str) -> str:
    """The GIN index of the collection's search vectors (36 characters: PostgreSQL allows 63)."""
    return _collection_prefix(collection_id) + "vector"


def sync_search_index(
    request: Request,
    collection_id: str,
    before: Declaration,
    after: Declaration,
    *,
    deleting: bool = False,
) -> None:
    """The collection's declaration changes from ``before`` to ``after`` in this request's
    transaction (``deleting``: the collection is being deleted)."""
    if before == after:
        return
    session = request.dbsession
    if session.get_bind().dialect.name != "sqlite":
        if not deleting:  # deleted, the marker goes with the collection (cascade)
            invalidate_vectors(session.connection(), collection_id)
        enqueue_task(request, SEARCH_INDEX_TASK, collection_id)  # after the commit
    elif not deleting:  # deleted, its records take their text with them (the triggers)
        reindex_sqlite(session.connection(), collection_id, after)


def reindex_sqlite(connection: Connection, collection_id: str, declaration: Declaration) -> None:
    """SQLite: the collection's rows of the FTS5 table, made anew for ``declaration``."""
    records = Record.__table__.name
    connection.execute(
        text(
            f"DELETE FROM {SEARCH_TABLE} WHERE rowid IN "  # noqa: S608 - our own names
            f"(SELECT rowid FROM {records} WHERE collection_id = :cid)"
        ),
        {"cid": collection_id},
    )
    if declaration is None:
        return
    fields, language = declaration
    connection.execute(
        text(
            f"INSERT INTO {SEARCH_TABLE} (rowid, body) "  # noqa: S608 - our own names
            "SELECT rowid, benben_search_document(data, :fields, :language) "
            f"FROM {records} WHERE collection_id = :cid AND NOT deleted"
        ),
        {"cid": collection_id, "fields": json.dumps(list(fields)), "language": language},
    )


# -- PostgreSQL: the background build ----------------------------------------------------------


def build_search_index(ctx: TaskContext, collection_id: str) -> str | None:
    """Task ``benben.data.search_index``: the collection's search index made the one its
    declaration needs (PostgreSQL); the index's name, None when it searches nothing."""
    engine = get_engine(ctx.registry)
    if engine.dialect.name != "postgresql":
        return None
    lock = int.from_bytes(hashlib.sha256(f"search\0{collection_id}".encode()).digest()[:8], "big")
    lock -= 1 << 63  # a bigint
    for attempt in range(_ATTEMPTS):
        with engine.connect() as connection:
            # CONCURRENTLY runs outside any transaction: each statement commits on its own.
            connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text("SELECT pg_advisory_lock(:lock)"), {"lock": lock})
            try:
                return _converge(connection, collection_id)
            except DBAPIError as error:
                # Concurrent builds of indexes on other tables of the database wait for each
                # other's transactions, and PostgreSQL may end one as a deadlock: again (what
                # it left invalid is dropped and built anew).
                if getattr(error.orig, "sqlstate", None) != "40P01" or attempt + 1 == _ATTEMPTS:
                    raise
                log.warning("search index of %s: deadlock, building again", collection_id)
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:lock)"), {"lock": lock})
    return None  # not reached: the last attempt returns or raises


def _converge(connection: Connection, collection_id: str) -> str | None:
    row = connection.execute(
        text("SELECT searchable_fields, search_language FROM benben_collections WHERE id = :cid"),
        {"cid": collection_id},
    ).first()
    declaration = search_declaration(row._mapping) if row is not None else None
    existing = _existing_indexes(connection, collection_id)
    if declaration is None:  # nothing to search: no index, no vector kept
        for name in existing:
            _drop(connection, name)
        if row is not None:
            recompute_vectors(connection, collection_id, only_stored=True)
        return None
    wanted = search_index_name(collection_id)
    state = vector_generation(connection, collection_id)
    if state is None:  # declared before the marker existed: begin at its first generation
        invalidate_vectors(connection, collection_id)
        state = vector_generation(connection, collection_id)
    generation, ready = state or (0, False)
    if not ready:
        # Built once the vectors are written: faster than updating it with each of them, and
        # until then searches evaluate the expression, not the column.
        for name in existing:
            _drop(connection, name)
        existing = {}
        recompute_vectors(connection, collection_id)
    if existing.get(wanted) is False:
        _drop(connection, wanted)  # left invalid by a build that failed
        del existing[wanted]
    if wanted not in existing:
        collection_is(Record.__table__, collection_id)  # a valid id: safe as a literal
        connection.execute(
            text(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {wanted} ON {Record.__table__.name} "
                f"USING gin (search_vector) WHERE collection_id = '{collection_id}'"
            )
        )
        # The column's statistics (how common each word is) guide the planner between the
        # index and the collection's last_modified order (see indexes.analyze_records).
        connection.execute(text(f"ANALYZE {Record.__table__.name}"))
    if not ready and not mark_ready(connection, collection_id, generation):
        log.info("search vectors of %s: the declaration changed meanwhile", collection_id)
    for name in existing:
        if name != wanted:
            _drop(connection, name)
    return wanted


def _existing_indexes(connection: Connection, collection_id: str) -> dict[str, bool]:
    """The collection's search indexes in the current schema, and whether each is valid."""
    prefix = _collection_prefix(collection_id)
    rows = connection.execute(
        text(
            "SELECT c.relname::text, i.indisvalid FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace "
            "AND left(c.relname::text, :length) = :prefix"
        ),
        {"length": len(prefix), "prefix": prefix},
    ).all()
    return {name: bool(valid) for name, valid in rows}


def _drop(connection: Connection, name: str) -> None:
    connection.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}"))
