"""The archive format, version 1 (documented for other tools in docs/backups.md).

An archive is a POSIX tar file (pax headers, every member's mtime 0, mode 0600, owner 0) whose
members are, in order:

1. ``manifest.json``: :data:`FORMAT` and :data:`FORMAT_VERSION`, when and by which Benben it
   was made, each participant (core, plugins) with its version, migration heads, tables
   (columns with their logical types, primary key, row count, sequence) and files, and the
   size and sha256 of every other member.
2. ``tables/<table>.jsonl.gz``: one table's rows, gzip-compressed JSON Lines, one JSON array per
   row with the values in the manifest's column order, rows ordered by primary key (byte order
   of text keys), values encoded by :func:`encode_value` (the same bytes whichever backend the
   rows came from).
3. ``files/<participant>/index.jsonl.gz``: that participant's files, ``[name, size, sha256]``
   per line, by name; then ``files/<participant>/<name>``: each file's bytes.

Gzip streams are written with mtime 0 and no file name, so one database's archives differ in
``manifest.json``'s ``created_at`` only.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import types as sqltypes

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "GZIP_LEVEL",
    "MANIFEST",
    "MEMBER_NAME",
    "ArchiveError",
    "decode_value",
    "dump_row",
    "encode_value",
    "file_member",
    "files_index_member",
    "logical_type",
    "row_encoder",
    "table_member",
]

FORMAT = "benben-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# JSON compresses 5-10 times at level 3 at a multiple of level 6's speed.
GZIP_LEVEL = 3
# What a table's or file's name may be, to become a member's name safely.
MEMBER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")

LOGICAL_TYPES = (
    "string",
    "integer",
    "boolean",
    "float",
    "decimal",
    "json",
    "datetime",
    "datetime_tz",
    "date",
    "bytes",
    "uuid",
)


class ArchiveError(Exception):
    """An archive that cannot be read, verified or restored: the message says why and where."""


def table_member(table: str) -> str:
    return f"tables/{table}.jsonl.gz"


def files_index_member(participant: str) -> str:
    return f"files/{participant}/index.jsonl.gz"


def file_member(participant: str, name: str) -> str:
    return f"files/{participant}/{name}"


def logical_type(column_type: sqltypes.TypeEngine[Any]) -> str:
    """The archive's name for a column's type; refuses a type it cannot carry faithfully."""
    current: Any = column_type
    while isinstance(current, sqltypes.TypeDecorator):
        current = current.impl_instance
    if isinstance(current, sqltypes.Variant):  # pragma: no cover - SQLAlchemy < 2.0.x
        current = current.impl
    checks: list[tuple[type[Any], str]] = [
        (sqltypes.JSON, "json"),
        (sqltypes.Boolean, "boolean"),
        (sqltypes.Integer, "integer"),
        (sqltypes.Float, "float"),
        (sqltypes.Numeric, "decimal"),
        (sqltypes.DateTime, "datetime"),
        (sqltypes.Date, "date"),
        (sqltypes.Uuid, "uuid"),
        (sqltypes.LargeBinary, "bytes"),
        (sqltypes.String, "string"),
    ]
    for kind, name in checks:
        if isinstance(current, kind):
            if name == "datetime" and current.timezone:
                return "datetime_tz"
            return name
    raise ArchiveError(f"a column of type {column_type!r} has no archive encoding")


def _datetime_tz(value: datetime.datetime) -> str:
    # SQLite hands back naive values of timezone-aware columns: they were written in UTC.
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "string": str,
    "integer": int,
    "boolean": bool,
    "float": float,
    "decimal": str,
    "json": lambda value: value,
    "datetime": lambda value: value.isoformat(timespec="microseconds"),
    "datetime_tz": _datetime_tz,
    "date": lambda value: value.isoformat(),
    "bytes": lambda value: base64.b64encode(bytes(value)).decode("ascii"),
    "uuid": str,
}


def _parse_datetime_tz(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.removesuffix("Z")).replace(tzinfo=datetime.UTC)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "string": str,
    "integer": int,
    "boolean": bool,
    "float": float,
    "decimal": decimal.Decimal,
    "json": lambda value: value,
    "datetime": datetime.datetime.fromisoformat,
    "datetime_tz": _parse_datetime_tz,
    "date": datetime.date.fromisoformat,
    "bytes": base64.b64decode,
    "uuid": uuid.UUID,
}


def encode_value(kind: str, value: Any) -> Any:
    """A column's value as the archive's JSON value (None stays null)."""
    return None if value is None else _ENCODERS[kind](value)


def decode_value(kind: str, value: Any) -> Any:
    """The archive's JSON value back into what SQLAlchemy writes for the logical type."""
    return None if value is None else _DECODERS[kind](value)


# One encoder for every row: json.dumps with options builds a new one per call.
_ROW_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
# Values the database driver already hands over as the archive writes them.
PASS_THROUGH = frozenset({"string", "integer", "boolean", "float", "json"})


def row_encoder(kinds: list[str]) -> Callable[[Any], list[Any]]:
    """A function turning a row of values of ``kinds`` into the archive's values, touching only
    the columns whose values need it (the hot loop of a backup: most columns need nothing)."""
    converted = [
        (index, _ENCODERS[kind]) for index, kind in enumerate(kinds) if kind not in PASS_THROUGH
    ]

    def encode(row: Any) -> list[Any]:
        values = list(row)
        for index, convert in converted:
            value = values[index]
            if value is not None:
                values[index] = convert(value)
        return values

    return encode


def dump_row(values: list[Any]) -> bytes:
    """One row's line: compact UTF-8 JSON (U+2028/U+2029 escaped), object keys sorted
    (PostgreSQL's jsonb keeps its own key order, SQLite the writer's: sorted, both backends'
    archives are the same bytes)."""
    line = _ROW_ENCODER.encode(values)
    if "\u2028" in line or "\u2029" in line:
        # Line and paragraph separators escaped: readers that split lines on them (Python's
        # str.splitlines, some JavaScript) still see one row per line.
        line = line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return line.encode() + b"\n"
