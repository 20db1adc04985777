"""PostgreSQL schemas reused between tests, emptied back to what migrating them made.

Creating a schema's tables costs a test more than its body does (catalog writes, a commit that
waits for the disk).  So a test's schema, when its test ends, is emptied and kept, and the next
test whose app runs the same migrations gets it renamed to its own name instead of migrating.

What is kept must be indistinguishable from a fresh migration: a schema is reused only when its
*fingerprint* (every relation, column, default, index, constraint, extended statistics object,
function, type and trigger, and whether any column statistics were gathered) equals the one taken
right after its migration, and whether the planner may have learnt about rows (a vacuum, an
analyze); then every table is emptied (DELETE, or TRUNCATE when larger than a page), the rows the
migrations wrote are put back and the sequences set back to where the migrations left them.
Anything else (an index a collection created, a table a test added, a lock that does not come)
drops the schema instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

__all__ = ["SchemaPool"]

# One row per object of the schema, with names relative to it.
_FINGERPRINT = """
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = :schema)
SELECT 'relation', c.relname, c.relkind::text,
       coalesce(c.relacl::text, '') || c.relrowsecurity::text || (c.reltuples < 0)::text
  FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'column', c.relname || '.' || a.attname, format_type(a.atttypid, a.atttypmod),
       a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = (SELECT oid FROM ns) AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'index', c.relname, pg_get_indexdef(i.indexrelid), ''
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE c.relnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'constraint', conname, pg_get_constraintdef(oid), ''
  FROM pg_constraint WHERE connamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'statistics', stxname, '', '' FROM pg_statistic_ext WHERE stxnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'function', proname, pg_get_function_identity_arguments(oid), ''
  FROM pg_proc WHERE pronamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'type', typname, typtype::text, '' FROM pg_type WHERE typnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'trigger', c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid), ''
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = (SELECT oid FROM ns) AND NOT t.tgisinternal
UNION ALL
SELECT 'column statistics', tablename || '.' || attname, '', ''
  FROM pg_stats WHERE schemaname = :schema
ORDER BY 1, 2, 3, 4
"""

# Which table references which, within the schema: rows are deleted from the first first.
_REFERENCES = """
SELECT child.relname, parent.relname
  FROM pg_constraint k
  JOIN pg_class child ON child.oid = k.conrelid
  JOIN pg_class parent ON parent.oid = k.confrelid
 WHERE k.contype = 'f' AND k.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = :schema)
"""
# A table of one page is emptied by DELETE (no new files, and the planner estimates a table of
# fewer than ten pages that was never vacuumed as it does an empty one); a larger one by TRUNCATE.
_DELETE_AT_MOST = 8192

Fingerprint = tuple[tuple[str, str, str, str], ...]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def fingerprint(connection: Connection, schema: str) -> Fingerprint:
    """What ``schema`` holds, apart from rows (``connection``: inside a transaction)."""
    connection.execute(text(f"SET LOCAL search_path TO {quote(schema)}"))
    rows = connection.execute(text(_FINGERPRINT), {"schema": schema}).all()
    # pg_get_indexdef qualifies the table whatever search_path says: names only, as elsewhere.
    prefixes = (quote(schema) + ".", schema + ".")

    def relative(value: object) -> str:
        described = str(value)
        for prefix in prefixes:
            described = described.replace(prefix, "")
        return described

    return tuple(tuple(relative(value) for value in row) for row in rows)  # type: ignore[misc]


@dataclass
class _Migrated:
    """A migrated schema as its migrations left it."""

    fingerprint: Fingerprint
    tables: list[str]  # referencing tables before the tables they reference
    seeds: str  # the schema holding a copy of the rows the migrations wrote
    seeded: list[str]  # ...the tables that had any
    sequences: list[tuple[str, int, bool]]  # name, last_value, is_called
    free: list[str] = field(default_factory=list)  # emptied schemas waiting for a test


class SchemaPool:
    """Migrated schemas kept between the tests of one session, by what migrated them."""

    def __init__(self, admin: Callable[[], Engine]) -> None:
        self._admin = admin
        self._migrated: dict[Hashable, _Migrated] = {}

    def take(self, key: Hashable, schema: str) -> bool:
        """Replace the empty ``schema`` by a kept one migrated as ``key`` says, if there is one."""
        migrated = self._migrated.get(key)
        if migrated is None or not migrated.free:
            return False
        kept = migrated.free.pop()
        with self._admin().begin() as connection:
            connection.execute(text(f"DROP SCHEMA {quote(schema)} CASCADE"))
            connection.execute(text(f"ALTER SCHEMA {quote(kept)} RENAME TO {quote(schema)}"))
        return True

    def remember(self, key: Hashable, schema: str) -> None:
        """Record ``schema``, just migrated as ``key`` says, as what the kept ones go back to."""
        if key in self._migrated:
            return
        seeds = f"benben_seeds_{uuid.uuid4().hex[:16]}"
        with self._admin().begin() as connection:
            found = fingerprint(connection, schema)
            tables = [
                name for kind, name, relkind, _ in found if kind == "relation" and relkind in "rp"
            ]
            connection.execute(text(f"CREATE SCHEMA {quote(seeds)}"))
            seeded = []
            for table in tables:
                source = f"{quote(schema)}.{quote(table)}"
                exists = f"SELECT EXISTS (SELECT FROM {source})"  # noqa: S608 - quoted names
                if connection.execute(text(exists)).scalar():
                    copy = f"{quote(seeds)}.{quote(table)}"
                    connection.execute(text(f"CREATE TABLE {copy} AS TABLE {source}"))
                    seeded.append(table)
            sequences = []
            for kind, name, relkind, _ in found:
                if kind == "relation" and relkind == "S":
                    sequence = f"{quote(schema)}.{quote(name)}"
                    state = f"SELECT last_value, is_called FROM {sequence}"  # noqa: S608
                    row = connection.execute(text(state)).one()
                    sequences.append((name, int(row[0]), bool(row[1])))
            references = connection.execute(text(_REFERENCES), {"schema": schema}).all()
        tables = _referencing_first(tables, [(str(a), str(b)) for a, b in references])
        self._migrated[key] = _Migrated(found, tables, seeds, seeded, sequences)

    def give_back(self, key: Hashable, schema: str) -> bool:
        """Empty ``schema`` back to its migrated state and keep it; False when it differs from
        that state in anything but rows (the caller drops it)."""
        migrated = self._migrated.get(key)
        if migrated is None:
            return False
        kept = f"benben_kept_{uuid.uuid4().hex[:16]}"
        try:
            with self._admin().begin() as connection:
                # A lock the test left held (a connection it never closed): drop instead.
                connection.execute(text("SET LOCAL lock_timeout = '2s'"))
                if fingerprint(connection, schema) != migrated.fingerprint:
                    return False
                own = quote(schema)
                _empty(connection, own, migrated)
                for table in migrated.seeded:
                    seeds = f"{quote(migrated.seeds)}.{quote(table)}"
                    target = f"{own}.{quote(table)}"
                    refill = f"INSERT INTO {target} OVERRIDING SYSTEM VALUE SELECT * FROM {seeds}"  # noqa: S608
                    connection.execute(text(refill))
                for name, last_value, is_called in migrated.sequences:
                    connection.execute(
                        text("SELECT setval(:sequence, :value, :called)"),
                        {
                            "sequence": f"{own}.{quote(name)}",
                            "value": last_value,
                            "called": is_called,
                        },
                    )
                connection.execute(text(f"ALTER SCHEMA {own} RENAME TO {quote(kept)}"))
        except DBAPIError:
            return False
        migrated.free.append(kept)
        return True

    def close(self) -> None:
        """Drop the kept schemas and the copies of seed rows."""
        if not self._migrated:
            return
        with self._admin().begin() as connection:
            for migrated in self._migrated.values():
                for name in [*migrated.free, migrated.seeds]:
                    connection.execute(text(f"DROP SCHEMA IF EXISTS {quote(name)} CASCADE"))
        self._migrated.clear()


def _empty(connection: Connection, own: str, migrated: _Migrated) -> None:
    """Delete every row of the schema ``own`` (quoted), the cheapest way for each table."""
    if not migrated.tables:
        return
    probes = " UNION ALL ".join(
        f"SELECT {number}, EXISTS (SELECT FROM {own}.{quote(table)}),"  # noqa: S608
        f" pg_relation_size(CAST(:table{number} AS regclass))"
        for number, table in enumerate(migrated.tables)
    )
    names = {f"table{n}": f"{own}.{quote(table)}" for n, table in enumerate(migrated.tables)}
    state = {
        number: (bool(rows), int(size))
        for number, rows, size in connection.execute(text(probes), names)
    }
    large = [table for n, table in enumerate(migrated.tables) if state[n][1] > _DELETE_AT_MOST]
    if large:
        listed = ", ".join(f"{own}.{quote(table)}" for table in large)
        connection.execute(text(f"TRUNCATE {listed} RESTART IDENTITY CASCADE"))
    for n, table in enumerate(migrated.tables):
        if table not in large and (state[n][0] or table in migrated.seeded):
            connection.execute(text(f"DELETE FROM {own}.{quote(table)}"))  # noqa: S608


def _referencing_first(tables: list[str], references: list[tuple[str, str]]) -> list[str]:
    """``tables`` ordered so that a table comes before every table it references."""
    ordered: list[str] = []
    remaining = list(tables)
    while remaining:
        for table in remaining:
            referencing = {
                child for child, parent in references if parent == table and child != table
            }
            if referencing <= set(ordered):
                ordered.append(table)
                remaining.remove(table)
                break
        else:  # a cycle of references: a DELETE fails, and the schema is dropped instead
            ordered.extend(remaining)
            break
    return ordered
