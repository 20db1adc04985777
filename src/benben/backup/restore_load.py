"""An archive's rows and files into a database at the archive's migration heads.

PostgreSQL loads each table through ``COPY ... FROM STDIN`` (psycopg's ``cursor.copy``): the
server parses every value as the column's type.  SQLite takes batches of ``executemany``, each
value bound as SQLAlchemy binds the column's type (the installed model's, else the archive's
logical type), so that the app reads restored rows exactly as rows it wrote itself.  A null is
SQL NULL in every column, JSON ones included: an archive does not tell JSON null apart.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, inspect, text
from sqlalchemy import types as sqltypes

from benben.backup.format import ArchiveError
from benben.backup.manifest import TableSpec
from benben.backup.participants import BackupParticipant
from benben.backup.reader import ArchiveReader, FileEntry, TableEntry
from benben.backup.restore_checks import RestoreError

__all__ = ["Loaded", "load_archive", "set_sequences"]

BATCH = 1000

_FALLBACK_TYPES: dict[str, Callable[[], sqltypes.TypeEngine[Any]]] = {
    "string": sqltypes.String,
    "integer": sqltypes.BigInteger,
    "boolean": sqltypes.Boolean,
    "float": sqltypes.Float,
    "decimal": sqltypes.Numeric,
    "json": sqltypes.JSON,
    "datetime": sqltypes.DateTime,
    "datetime_tz": lambda: sqltypes.DateTime(timezone=True),
    "date": sqltypes.Date,
    "bytes": sqltypes.LargeBinary,
    "uuid": sqltypes.Uuid,
}


@dataclass
class Loaded:
    """What a load wrote: counts, and each participant's files (for a discard on failure)."""

    tables: int = 0
    rows: int = 0
    files: int = 0
    file_bytes: int = 0
    written: dict[str, list[str]] = field(default_factory=dict)


def load_archive(
    connection: Connection,
    reader: ArchiveReader,
    participants: Mapping[str, BackupParticipant],
    registry: Any,
    progress: Any,
    loaded: Loaded,
) -> None:
    """Every table of ``reader`` into ``connection``'s database, every file to its participant;
    ``loaded`` is filled as it goes (a failure leaves it saying what to discard)."""
    present = set(inspect(connection).get_table_names())
    with contextlib.ExitStack() as stack:
        files_task = None
        for entry in reader.entries():
            if isinstance(entry, TableEntry):
                if entry.spec.name not in present:
                    raise ArchiveError(
                        f"table {entry.spec.name} of the archive does not exist at the archive's "
                        "migration heads"
                    )
                columns = _installed_columns(participants, entry.spec)
                loaded.rows += _load_table(connection, entry, columns, progress)
                loaded.tables += 1
                continue
            if files_task is None and progress is not None:  # files come last, together
                files_task = stack.enter_context(
                    progress.task("files", total=reader.manifest.file_bytes, unit="B")
                )
            _restore_file(registry, participants, entry, loaded)
            if files_task is not None:
                files_task.update(entry.size)


def _restore_file(
    registry: Any,
    participants: Mapping[str, BackupParticipant],
    entry: FileEntry,
    loaded: Loaded,
) -> None:
    participant = participants.get(entry.participant)
    if participant is None or participant.files is None:
        raise RestoreError(
            f"archive holds files of '{entry.participant}', which keeps no files here"
        )
    # Noted before writing: a failure halfway through the file must discard it too.
    loaded.written.setdefault(entry.participant, []).append(entry.name)
    participant.files.restore(registry, entry.name, entry.chunks)
    loaded.files += 1
    loaded.file_bytes += entry.size


def _installed_columns(
    participants: Mapping[str, BackupParticipant], spec: TableSpec
) -> Mapping[str, Any]:
    participant = participants.get(spec.participant)
    for table in participant.tables if participant is not None else ():
        if table.name == spec.name:
            return table.columns
    return {}


# JSON to PostgreSQL without json.dumps' per-call set-up and \u escapes (the server reads UTF-8).
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _batches(rows: Iterator[list[Any]], task: Any) -> Iterator[list[list[Any]]]:
    batch: list[list[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            if task is not None:
                task.update(len(batch))
            batch = []
    if batch:
        yield batch
        if task is not None:
            task.update(len(batch))


def _load_table(
    connection: Connection, entry: TableEntry, installed: Mapping[str, Any], progress: Any
) -> int:
    spec = entry.spec
    if progress is None:
        return _load_rows(connection, entry, installed, None)
    with progress.task(spec.name, total=spec.rows) as task:
        return _load_rows(connection, entry, installed, task)


def _load_rows(
    connection: Connection, entry: TableEntry, installed: Mapping[str, Any], task: Any
) -> int:
    spec = entry.spec
    quote = connection.dialect.identifier_preparer.quote
    names = ", ".join(quote(column.name) for column in spec.columns)
    count = 0
    # The schema is new, but a migration may have seeded rows (the auth epoch's): the
    # archive's rows replace them.
    connection.exec_driver_sql(f"DELETE FROM {quote(spec.name)}")  # noqa: S608 - quoted
    if connection.dialect.name == "postgresql":
        from psycopg.types.json import Json

        adapt = [c.type == "json" for c in spec.columns]
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(f"COPY {quote(spec.name)} ({names}) FROM STDIN") as copy:
                for batch in _batches(entry.rows, task):
                    for row in batch:
                        copy.write_row(
                            [
                                Json(value, dumps=_COMPACT) if json and value is not None else value
                                for json, value in zip(adapt, row, strict=True)
                            ]
                        )
                    count += len(batch)
        finally:
            cursor.close()
        return count
    processors = []
    for column in spec.columns:
        found = installed.get(column.name)
        column_type = found.type if found is not None else _FALLBACK_TYPES[column.type]()
        processors.append(
            column_type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
        )
    marks = ", ".join("?" for _ in spec.columns)
    # Identifiers checked by the manifest's reader and quoted; values bound.
    statement = f"INSERT INTO {quote(spec.name)} ({names}) VALUES ({marks})"  # noqa: S608
    for batch in _batches(entry.rows, task):
        connection.exec_driver_sql(
            statement,
            [
                tuple(
                    value if value is None or process is None else process(value)
                    for process, value in zip(processors, row, strict=True)
                )
                for row in batch
            ],
        )
        count += len(batch)
    return count


def set_sequences(connection: Connection, tables: list[TableSpec]) -> None:
    """Each auto-incremented key's counter back where the archive's source left it, so that
    a new row gets an id above every restored one (and above ids handed out, then deleted)."""
    for spec in tables:
        if spec.sequence is None:
            continue
        column, value = spec.sequence
        if connection.dialect.name == "postgresql":
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": spec.name, "column": column},
            ).scalar_one()
            if sequence is None:
                continue
            # setval(seq, 1, false): the next value is 1, as in a table never written.
            connection.execute(
                text("SELECT setval(:sequence, :value, :called)"),
                {"sequence": sequence, "value": max(value, 1), "called": value > 0},
            )
            continue
        definition = connection.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
            {"name": spec.name},
        ).scalar_one_or_none()
        if definition is None or "AUTOINCREMENT" not in definition.upper():
            continue  # SQLite hands out max(rowid) + 1: nothing to set
        connection.execute(
            text("DELETE FROM sqlite_sequence WHERE name = :name"), {"name": spec.name}
        )
        if value > 0:
            connection.execute(
                text("INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :value)"),
                {"name": spec.name, "value": value},
            )
