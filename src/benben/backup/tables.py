"""A table's rows into its archive member: read in primary key order through a server-side
cursor, encoded (benben.backup.format), gzip-compressed into a temporary file while hashed, so
that memory stays constant whatever the table's size."""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import Connection, Table, Text, cast, func, literal_column, select, text

from benben.backup.format import (
    GZIP_LEVEL,
    MEMBER_NAME,
    ArchiveError,
    dump_row,
    encode_value,
    logical_type,
    row_encoder,
    table_member,
)
from benben.backup.participants import table_columns

__all__ = ["SpooledMember", "spool_lines", "spool_table", "table_sequence"]

_JSON = json.JSONDecoder()
# Rows fetched per round trip and encoded per gzip write (and per progress update).
BATCH_ROWS = 2000


@dataclass
class SpooledMember:
    """A member written to a temporary file, waiting for its place in the tar."""

    name: str
    file: IO[bytes]
    size: int
    sha256: str


class _HashingWriter:
    """The gzip stream's destination: counts and hashes the compressed bytes it passes on."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.size = 0
        self.hash = hashlib.sha256()

    def write(self, data: Any) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()


class _GzipSpool:
    """gzip (mtime 0, no file name: the same rows, the same bytes) into a temporary file."""

    def __init__(self, name: str) -> None:
        self.name = name
        # Closed by the caller once in the tar (or by discard()).
        self.file: IO[bytes] = tempfile.TemporaryFile(prefix="benben-backup-")  # noqa: SIM115
        self.sink = _HashingWriter(self.file)
        self.gzip = gzip.GzipFile(
            filename="", mode="wb", fileobj=self.sink, compresslevel=GZIP_LEVEL, mtime=0
        )

    def write(self, data: bytes) -> None:
        self.gzip.write(data)

    def finish(self) -> SpooledMember:
        self.gzip.close()  # writes the trailer; the temporary file stays open
        self.file.flush()
        return SpooledMember(self.name, self.file, self.sink.size, self.sink.hash.hexdigest())

    def discard(self) -> None:
        self.file.close()


def spool_lines(name: str, lines: list[bytes]) -> SpooledMember:
    """A small gzip member (a files index) from its lines."""
    spool = _GzipSpool(name)
    spool.write(b"".join(lines))
    return spool.finish()


def spool_table(
    connection: Connection, table: Table, update: Callable[[int], None]
) -> tuple[dict[str, Any], SpooledMember]:
    """The table's manifest entry and its spooled member; ``update(n)``: n rows done."""
    if not MEMBER_NAME.fullmatch(table.name):
        raise ArchiveError(f"table {table.name!r}: its name cannot be an archive member's")
    columns = table_columns(table)
    kinds = [logical_type(column.type) for column in columns]
    constants = {
        index: encode_value(kind, column.info["backup_constant"])
        for index, (column, kind) in enumerate(zip(columns, kinds, strict=True))
        if "backup_constant" in column.info
    }
    # JSON as text, parsed here once: psycopg would parse it from bytes, SQLAlchemy's JSON type
    # with its own set-up per value (both slower), and the archive re-encodes it anyway.
    as_text = {
        index for index, kind in enumerate(kinds) if kind == "json" and index not in constants
    }
    selected = [
        literal_column("NULL")
        if index in constants
        else cast(column, Text)
        if index in as_text
        else _selected(table, column)
        for index, column in enumerate(columns)
    ]
    encode = row_encoder(kinds)
    # raw_decode: PostgreSQL's text of a json value has no whitespace around it to skip.
    parse = [(index, _JSON.raw_decode) for index in sorted(as_text)]
    statement = select(*selected).order_by(*_order(connection, table, columns, kinds))
    spool = _GzipSpool(table_member(table.name))
    rows = 0
    try:
        result = connection.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(
            statement
        )
        for batch in result.partitions():
            lines = []
            for row in batch:
                values = encode(row)
                for index, load in parse:
                    if values[index] is not None:
                        values[index] = load(values[index])[0]
                for index, constant in constants.items():
                    values[index] = constant
                lines.append(dump_row(values))
            spool.write(b"".join(lines))
            rows += len(batch)
            update(len(batch))
        member = spool.finish()
    except BaseException:
        spool.discard()
        raise
    entry = {
        "name": table.name,
        "member": member.name,
        "columns": [
            {"name": column.name, "type": kind, "nullable": bool(column.nullable)}
            for column, kind in zip(columns, kinds, strict=True)
        ],
        "primary_key": [column.name for column in table.primary_key.columns],
        "rows": rows,
        "sequence": table_sequence(connection, table),
    }
    return entry, member


def _selected(table: Table, column: Any) -> Any:
    """The column, or what its ``info["backup_expression"](table)`` archives instead."""
    expression = column.info.get("backup_expression")
    return column if expression is None else expression(table).label(column.name)


def _order(connection: Connection, table: Table, columns: list[Any], kinds: list[str]) -> list[Any]:
    """Primary key order (every column's, for a table without one); text in byte order on
    PostgreSQL too (COLLATE "C", as SQLite's BINARY), so both backends write the same bytes."""
    keys = list(table.primary_key.columns) or columns
    kind_of = {column.name: kind for column, kind in zip(columns, kinds, strict=True)}
    postgresql = connection.dialect.name == "postgresql"
    return [
        column.collate("C") if postgresql and kind_of.get(column.name) == "string" else column
        for column in keys
    ]


def table_sequence(connection: Connection, table: Table) -> dict[str, Any] | None:
    """The highest value handed out by the table's auto-incrementing integer key, or None for a
    table without one: restore sets the sequence there, so that no id is handed out twice."""
    column = table.autoincrement_column
    if column is None:
        return None
    highest = connection.scalar(select(func.max(column)).select_from(table)) or 0
    value: Any = 0
    if connection.dialect.name == "postgresql":
        qualified = f"{table.schema}.{table.name}" if table.schema else table.name
        # NULL (0) when the sequence never handed a value out, as a fresh table's.
        value = connection.scalar(
            text(
                "SELECT pg_sequence_last_value("
                "CAST(pg_get_serial_sequence(:table, :column) AS regclass))"
            ),
            {"table": qualified, "column": column.name},
        )
    elif connection.dialect.name == "sqlite":
        has_sequences = connection.scalar(
            text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'")
        )
        if has_sequences:
            value = (
                connection.scalar(
                    text("SELECT seq FROM sqlite_sequence WHERE name = :table"),
                    {"table": table.name},
                )
                or 0
            )
    return {"column": column.name, "value": max(int(value or 0), int(highest))}
