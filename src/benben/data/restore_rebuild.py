"""What a restore rebuilds of the data API once the archive's rows are loaded (core's
``after_restore``, run in the restore's transaction): everything derived from the rows that an
archive leaves out because it belongs to one backend or is made from the data.

- Each collection's declared-field indexes (:mod:`.indexes`) and, on PostgreSQL, their extended
  statistics: created here, not on the first write of the collection's declaration.
- Search.  PostgreSQL: each record's ``search_vector`` is written by the trigger of migration
  0008 as the row is inserted (the collections are loaded before the records, so it finds their
  declarations); the records left without one (a load that bypassed triggers) are computed
  here.  Then the collection's GIN index is built, non-concurrently (the restore's transaction
  owns the tables; nobody searches an instance being restored), and its vectors marked ready:
  searches read the stored vectors at once, no background task is needed.  SQLite: the FTS5
  rows are written by the insert trigger on the app's connections (which register the
  functions the trigger calls); when their number does not match the searchable records (a
  load without them), the searchable collections are indexed again (:func:`reindex_sqlite`).
- PostgreSQL: one ANALYZE of the records table, so that the planner knows the restored
  collections (see :func:`.indexes.analyze_records`).

Indexes of collections the archive does not hold (``restore --force`` over a used database)
are dropped: the rows they covered are gone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, text

from benben.data.indexes import analyze_records, ensure_indexes, index_name
from benben.data.jsonkeys import collection_is
from benben.data.models import Collection, Record
from benben.data.search import SEARCH_TABLE
from benben.data.search_index import reindex_sqlite, search_declaration, search_index_name

__all__ = ["rebuild_after_restore"]

_FIELD_PREFIX = "ix_benben_rq_"
_SEARCH_PREFIX = "ix_benben_rs_"
_STATISTICS_PREFIX = "st_benben_rq_"


def rebuild_after_restore(connection: Connection) -> None:
    """Core's ``after_restore``: the collections' indexes, search and statistics rebuilt from
    the restored rows, in ``connection``'s transaction (the restore's)."""
    table = Collection.__table__
    collections = connection.execute(
        select(
            table.c.id, table.c.indexed_fields, table.c.searchable_fields, table.c.search_language
        ).order_by(table.c.id)
    ).all()
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:  # markers of an earlier life of this database (restore --force)
        connection.execute(text("DELETE FROM benben_search_vectors"))
    wanted: set[str] = set()
    for row in collections:
        fields = list(row.indexed_fields or ())
        # old == new: nothing to drop, and no ANALYZE per collection (one at the end).
        ensure_indexes(connection, row.id, fields, fields)
        wanted.update(index_name(row.id, field) for field in fields)
        if postgresql and search_declaration(row._mapping) is not None:
            _search_postgresql(connection, row.id, row._mapping)
            wanted.add(search_index_name(row.id))
    _drop_stale(connection, wanted)
    if postgresql:
        analyze_records(connection)
    else:
        _search_sqlite(connection, collections)


def _search_postgresql(connection: Connection, collection_id: str, row: Any) -> None:
    records = Record.__table__.name
    # Live records without a vector: rows a load wrote with triggers disabled.  None when the
    # trigger ran (a live record of a searchable collection always gets one, maybe empty).
    connection.execute(
        text(
            f"UPDATE {records} "  # noqa: S608 - our own names
            "SET search_vector = benben_search_vector(collection_id, data, deleted) "
            "WHERE collection_id = :cid AND search_vector IS NULL AND NOT deleted "
            "AND data IS NOT NULL"
        ),
        {"cid": collection_id},
    )
    collection_is(Record.__table__, collection_id)  # a valid id: safe as a literal
    connection.execute(
        text(
            f"CREATE INDEX IF NOT EXISTS {search_index_name(collection_id)} ON {records} "
            f"USING gin (search_vector) WHERE collection_id = '{collection_id}'"
        )
    )
    connection.execute(
        text(
            "INSERT INTO benben_search_vectors "
            "(collection_id, generation, ready, searchable_fields, search_language) "
            "VALUES (:cid, 1, true, CAST(:fields AS json), :language)"
        ),
        {
            "cid": collection_id,
            "fields": json.dumps(list(row["searchable_fields"])),
            "language": row["search_language"],
        },
    )


def _search_sqlite(connection: Connection, collections: Sequence[Any]) -> None:
    searchable = [
        (row.id, search_declaration(row._mapping))
        for row in collections
        if search_declaration(row._mapping) is not None
    ]
    records = Record.__table__.name
    indexed = connection.execute(text(f"SELECT count(*) FROM {SEARCH_TABLE}")).scalar_one()  # noqa: S608
    expected = connection.execute(
        text(
            f"SELECT count(*) FROM {records} AS r JOIN benben_collections AS c "  # noqa: S608
            "ON c.id = r.collection_id "
            "WHERE json_array_length(c.searchable_fields) > 0 AND NOT r.deleted"
        )
    ).scalar_one()
    if indexed == expected:
        return
    connection.execute(text(f"DELETE FROM {SEARCH_TABLE}"))  # noqa: S608 - our own name
    for collection_id, declaration in searchable:
        reindex_sqlite(connection, collection_id, declaration)


def _drop_stale(connection: Connection, wanted: set[str]) -> None:
    """Drop the data API's per-collection indexes (and statistics) that no restored collection
    declares."""
    if connection.dialect.name == "postgresql":
        names = connection.execute(
            text(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = :table"
            ),
            {"table": Record.__table__.name},
        ).scalars()
        statistics = connection.execute(
            text(
                "SELECT stxname::text FROM pg_statistic_ext "
                "WHERE stxnamespace = current_schema()::regnamespace"
            )
        ).scalars()
        for name in list(statistics):
            if name.startswith(_STATISTICS_PREFIX) and "ix" + name[2:] not in wanted:
                connection.execute(text(f'DROP STATISTICS IF EXISTS "{name}"'))
    else:
        names = connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :table"),
            {"table": Record.__table__.name},
        ).scalars()
    for name in list(names):
        if name.startswith((_FIELD_PREFIX, _SEARCH_PREFIX)) and name not in wanted:
            connection.execute(text(f'DROP INDEX IF EXISTS "{name}"'))
