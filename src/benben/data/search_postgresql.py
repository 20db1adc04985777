"""PostgreSQL's stored search vectors: each record's ``search_vector`` (written by the trigger of
migration 0008 under the collection's declaration), and per collection whether they are all
computed for the current declaration and indexed (``benben_search_vectors``), so that a search
may read them instead of computing each record's vector from its data.

The lifecycle (:mod:`.search_index` drives it):

1. a declaration change advances the collection's ``generation`` and clears ``ready``, in the
   change's transaction (:func:`invalidate_vectors`): from its commit, searches evaluate the
   expression again, right whatever the column holds;
2. the background task recomputes the collection's vectors in short batches in key order
   (:func:`recompute_vectors`: writes go on; new ones get the new declaration's vector from the
   trigger), builds the GIN index, and
3. sets ``ready`` for the generation it began with (:func:`mark_ready`): a change meanwhile
   advanced it, and the task that change enqueued starts again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from benben.data.models import SearchVectors
from benben.data.search import Search

__all__ = [
    "BATCH_RECORDS",
    "invalidate_vectors",
    "mark_ready",
    "recompute_vectors",
    "vector_generation",
    "with_stored_vectors",
]

# Records per recomputing transaction: each holds its rows' locks ~0.2 s at most.
BATCH_RECORDS = 1000

_INVALIDATE = text(
    "INSERT INTO benben_search_vectors (collection_id, generation, ready) "
    "VALUES (:cid, 1, false) ON CONFLICT (collection_id) DO UPDATE "
    "SET generation = benben_search_vectors.generation + 1, ready = false, "
    "searchable_fields = NULL, search_language = NULL"
)
# The batch: the next BATCH_RECORDS keys after :after, in the primary key's order.
_RECOMPUTE = """
    WITH batch AS (
        SELECT id FROM benben_records WHERE collection_id = :cid AND id > :after {only}
         ORDER BY id LIMIT :size
    ), updated AS (
        UPDATE benben_records AS r
           SET search_vector = benben_search_vector(r.collection_id, r.data, r.deleted)
          FROM batch WHERE r.collection_id = :cid AND r.id = batch.id
        RETURNING r.id
    )
    SELECT (SELECT max(id) FROM batch), (SELECT count(*) FROM updated)
"""
# The declaration is copied from the collection row of this generation: a change of it would
# have advanced the generation, which the WHERE checks again once any writer of it is done.
_MARK_READY = text(
    "UPDATE benben_search_vectors AS v SET ready = true, "
    "searchable_fields = c.searchable_fields, search_language = c.search_language "
    "FROM benben_collections AS c "
    "WHERE v.collection_id = :cid AND v.generation = :generation AND c.id = v.collection_id"
)


def with_stored_vectors(session: Session, collection_id: str, search: Search) -> Search:
    """``search`` reading the stored vectors when they are ready for its declaration."""
    table = SearchVectors.__table__
    # A SELECT through the session: read where the page is (a read replica for safe requests),
    # so that a ready marker never precedes the vectors it vouches for there.
    row = session.execute(
        select(table.c.searchable_fields, table.c.search_language).where(
            table.c.collection_id == collection_id, table.c.ready
        )
    ).first()
    if row is None or row.search_language != search.language:
        return search
    if tuple(row.searchable_fields or ()) != search.fields:
        return search
    return replace(search, stored=True)


def invalidate_vectors(connection: Connection, collection_id: str) -> None:
    """In a declaration change's transaction: searches evaluate the expression until the task
    has recomputed the vectors for it."""
    connection.execute(_INVALIDATE, {"cid": collection_id})


def vector_generation(connection: Connection, collection_id: str) -> tuple[int, bool] | None:
    """``(generation, ready)`` of the collection's vectors, None before any declaration."""
    row = connection.execute(
        text("SELECT generation, ready FROM benben_search_vectors WHERE collection_id = :cid"),
        {"cid": collection_id},
    ).first()
    return None if row is None else (int(row.generation), bool(row.ready))


def recompute_vectors(
    connection: Connection,
    collection_id: str,
    *,
    only_stored: bool = False,
    batch_records: int = BATCH_RECORDS,
) -> int:
    """Every record's vector of the collection computed again, ``batch_records`` a transaction
    (``connection`` in autocommit), under the declaration each batch finds; ``only_stored``:
    only records holding one (clearing them). The records rewritten."""
    statement = text(_RECOMPUTE.format(only="AND search_vector IS NOT NULL" if only_stored else ""))
    after, total = "", 0
    while True:
        params: dict[str, Any] = {"cid": collection_id, "after": after, "size": batch_records}
        last, updated = connection.execute(statement, params).one()
        if last is None:
            return total
        after, total = last, total + int(updated)


def mark_ready(connection: Connection, collection_id: str, generation: int) -> bool:
    """The collection's vectors ready, if no declaration change came since ``generation``."""
    result = connection.execute(_MARK_READY, {"cid": collection_id, "generation": generation})
    return bool(result.rowcount)
