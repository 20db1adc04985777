"""A JSON member of record data as three total (never NULL) SQL expressions, per backend.

- ``rank``: the JSON type, in sort order: null 0, false 1, true 2, number 3, string 4, array 5,
  object 6, missing 7 (a tombstone's members are all missing);
- ``num``: the number when it is one, else 0;
- ``text``: the string when it is one, else '' (ordered by code point: ``COLLATE "C"`` on
  PostgreSQL, SQLite's BINARY).

sql.py filters and sorts on these and indexes.py indexes them, so that the three always match
literally, as expression indexes require.  Path segments and collection ids are inlined as SQL
literals (an index expression or a partial index's predicate cannot be a parameter) after they
match strict patterns; query.parse_field_path is stricter still.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Numeric,
    String,
    Table,
    Text,
    case,
    cast,
    collate,
    func,
    literal_column,
)
from sqlalchemy.dialects.postgresql import JSONB

__all__ = [
    "ARRAY",
    "FALSE",
    "MISSING",
    "NULL",
    "NUMBER",
    "OBJECT",
    "STRING",
    "TRUE",
    "FieldKeys",
    "collection_is",
    "const",
    "field_keys",
    "id_key",
    "json_path",
]

NULL, FALSE, TRUE, NUMBER, STRING, ARRAY, OBJECT, MISSING = range(8)

_COLLECTION_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,64}")


class FieldKeys(NamedTuple):
    rank: ColumnElement[Any]
    num: ColumnElement[Any]
    text: ColumnElement[Any]  # for substring tests
    ordered_text: ColumnElement[Any]  # for comparisons and sorting


def const(sql: str) -> ColumnElement[Any]:
    """A constant of this module's own (never input) as SQL."""
    return literal_column(sql)


def _checked(segment: str) -> str:
    if not _SEGMENT.fullmatch(segment):  # query.parse_field_path is stricter still
        raise ValueError(f"invalid field segment {segment!r}")
    return segment


def _segment(segment: str) -> ColumnElement[Any]:
    return literal_column(f"'{_checked(segment)}'", Text)


def json_path(path: tuple[str, ...]) -> ColumnElement[Any]:
    """SQLite's JSON path of object keys (quoted: keys, never array indexes)."""
    return literal_column("'$" + "".join(f'."{_checked(s)}"' for s in path) + "'", Text)


def collection_is(table: Table, collection_id: str) -> ColumnElement[bool]:
    """``collection_id = '<cid>'`` as a literal: the partial indexes' predicate, matched as such."""
    if not _COLLECTION_ID.fullmatch(collection_id):
        raise ValueError(f"invalid collection id {collection_id!r}")
    return table.c.collection_id == literal_column(f"'{collection_id}'", String)


def field_keys(table: Table, path: tuple[str, ...], dialect: str) -> FieldKeys:
    """The (rank, num, text) expressions of a data path on ``dialect``."""
    data = table.c.data
    if dialect == "postgresql":
        parent = data
        for segment in path[:-1]:
            parent = parent.op("->", return_type=JSONB)(_segment(segment))
        value = parent.op("->", return_type=JSONB)(_segment(path[-1]))
        kind = func.jsonb_typeof(value, type_=Text)
        rank = case(
            (const("'null'"), const(str(NULL))),
            (
                const("'boolean'"),
                case((cast(value, Boolean), const(str(TRUE))), else_=const(str(FALSE))),
            ),
            (const("'number'"), const(str(NUMBER))),
            (const("'string'"), const(str(STRING))),
            (const("'array'"), const(str(ARRAY))),
            (const("'object'"), const(str(OBJECT))),
            value=kind,
            else_=const(str(MISSING)),
        )
        num = case((kind == const("'number'"), cast(value, Numeric)), else_=const("0"))
        string = parent.op("->>", return_type=Text)(_segment(path[-1]))
        text = case((kind == const("'string'"), string), else_=const("''"))
        return FieldKeys(rank, num, text, collate(text, "C"))
    kind = func.json_type(data, json_path(path), type_=Text)
    extracted = func.json_extract(data, json_path(path))
    rank = case(
        *((const(f"'{name}'"), const(str(r))) for name, r in _SQLITE_RANKS),
        value=kind,
        else_=const(str(MISSING)),
    )
    num = case(
        (const("'integer'"), extracted),
        (const("'real'"), extracted),
        value=kind,
        else_=const("0"),
    )
    text = case((const("'text'"), extracted), value=kind, else_=const("''"))
    return FieldKeys(rank, num, text, text)


_SQLITE_RANKS = (
    ("null", NULL),
    ("false", FALSE),
    ("true", TRUE),
    ("integer", NUMBER),
    ("real", NUMBER),
    ("text", STRING),
    ("array", ARRAY),
    ("object", OBJECT),
)


def id_key(table: Table, dialect: str) -> ColumnElement[Any]:
    """Record ids compare by code point on both backends, whatever the database's collation."""
    return collate(table.c.id, "C") if dialect == "postgresql" else table.c.id
