"""``create_backup``: one archive of everything Benben owns, as a consistent snapshot taken while
the server keeps serving, in constant memory (the format: benben.backup.format).

The snapshot is one connection's transaction: on PostgreSQL ``REPEATABLE READ, READ ONLY``; on
SQLite (WAL) a read transaction begun by a first read, which every later read of the backup
sees, while writers go on writing to the WAL.  Neither blocks a writer.  Each table is read in
primary key order through a server-side cursor into a gzip-compressed temporary file (hashed on
the way); participants' files are listed in the same transaction.  Then the tar is written:
the manifest (which needs every member's size and sha256) first, the tables, the files.
"""

from __future__ import annotations

import datetime
import io
import json
import tarfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import Connection

from benben.backup.files_copy import CheckedFile, list_files
from benben.backup.format import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    dump_row,
    file_member,
    files_index_member,
)
from benben.backup.participants import BackupFile, BackupParticipant, backup_participants
from benben.backup.progress import Progress, make_progress
from benben.backup.tables import SpooledMember, spool_lines, spool_table
from benben.backup.targets import BackupError, open_target
from benben.db import get_engine, migration_sources
from benben.db.migrations import MigrationSource
from benben.version import __version__

__all__ = ["BackupError", "BackupResult", "create_backup", "tar_info"]


@dataclass(frozen=True)
class BackupResult:
    """What ``create_backup`` wrote: where, its size in bytes, the rows, tables and files in
    it, how long it took, and its manifest."""

    location: str
    size: int
    rows: int
    tables: int
    files: int
    seconds: float
    manifest: dict[str, Any]


@dataclass
class _FilesPart:
    participant: str
    index: SpooledMember
    files: list[BackupFile]


def create_backup(
    registry: Any,
    output: str | None = None,
    *,
    progress: Progress | None = None,
    now: datetime.datetime | None = None,
) -> BackupResult:
    """Write an archive of the app's database (and participants' files) to ``output`` (see
    :func:`benben.backup.targets.open_target`; None: the ``benben.backup.target`` setting).
    Raises :class:`BackupError` (or ``ArchiveError``) with a clear message; a failed backup
    leaves no file behind."""
    started = time.monotonic()
    progress = progress or make_progress(enabled=False)
    now = (now or datetime.datetime.now(datetime.UTC)).astimezone(datetime.UTC)
    target = open_target(registry.settings, output)
    name = target.name_for(now)
    participants = backup_participants(registry)
    sources = migration_sources(registry)
    taking_part = {participant.name for participant in participants}
    not_backed_up = [source.name for source in sources if source.name not in taking_part]
    for plugin in not_backed_up:
        progress.warn(
            f"plugin {plugin} has database tables but does not take part in backups "
            "(add_backup_participant): its data is not in the archive"
        )
    with ExitStack() as stack:
        spooled: list[SpooledMember] = []
        stack.callback(lambda: [member.file.close() for member in spooled])
        with get_engine(registry).connect() as connection:
            _begin_snapshot(connection)
            migrations = _migrations_at_heads(connection, sources)
            described, parts = _read_snapshot(registry, connection, participants, spooled, progress)
            connection.rollback()
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": now.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z",
            "benben_version": __version__,
            "migrations": migrations,
            "participants": described,
            "not_backed_up": not_backed_up,
            "members": {
                member.name: {"size": member.size, "sha256": member.sha256}
                for member in [*spooled, *(part.index for part in parts)]
            },
        }
        with target.write(name) as out:
            _write_tar(out, manifest, spooled, parts, progress)
            out.flush()
            size = out.tell()
    tables = [table for participant in described for table in participant["tables"]]
    return BackupResult(
        location=target.location(name),
        size=size,
        rows=sum(table["rows"] for table in tables),
        tables=len(tables),
        files=sum(len(part.files) for part in parts),
        seconds=time.monotonic() - started,
        manifest=manifest,
    )


def _begin_snapshot(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # The first statement of the transaction (psycopg sends BEGIN before it).  A server's
        # statement timeout is meant for requests, not for reading whole tables.
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
    else:
        # BEGIN (the engine's) is deferred: the snapshot starts at the first read, now, and
        # holds for every later read of this transaction.
        connection.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()


def _migrations_at_heads(
    connection: Connection, sources: Sequence[MigrationSource]
) -> dict[str, list[str]]:
    """Each source's revisions, all at their heads: an archive of a schema in between would
    name revisions that restore cannot bring an empty database to."""
    migrations, behind = {}, []
    for source in sources:
        current = source.current(connection)
        if current != source.heads():
            behind.append(source.name)
        migrations[source.name] = sorted(current)
    if behind:
        raise BackupError(
            f"the database schema is behind for {', '.join(behind)}: run benben migrate first"
        )
    return migrations


def _read_snapshot(
    registry: Any,
    connection: Connection,
    participants: Sequence[BackupParticipant],
    spooled: list[SpooledMember],
    progress: Progress,
) -> tuple[list[dict[str, Any]], list[_FilesPart]]:
    described: list[dict[str, Any]] = []
    parts: list[_FilesPart] = []
    seen: set[str] = set()
    for participant in participants:
        tables = []
        for table in participant.tables:
            if table.name in seen:
                raise BackupError(f"table {table.name} is backed up twice ({participant.name})")
            seen.add(table.name)
            with progress.task(table.name) as bar:
                entry, member = spool_table(connection, table, bar.update)
            spooled.append(member)
            tables.append(entry)
        files = None
        if participant.files is not None:
            listed = list_files(registry, connection, participant)
            index = spool_lines(
                files_index_member(participant.name),
                [dump_row([item.name, item.size, item.sha256]) for item in listed],
            )
            spooled.append(index)
            parts.append(_FilesPart(participant.name, index, listed))
            files = {
                "index": index.name,
                "count": len(listed),
                "bytes": sum(item.size for item in listed),
            }
        described.append(
            {
                "name": participant.name,
                "version": participant.version or __version__,
                "tables": tables,
                "files": files,
            }
        )
    return described, parts


def tar_info(name: str, size: int) -> tarfile.TarInfo:
    """A member's header: nothing of the machine or the moment (mtime 0, owner 0, 0600)."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = 0o600
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info


def _write_tar(
    out: BinaryIO,
    manifest: dict[str, Any],
    spooled: list[SpooledMember],
    parts: list[_FilesPart],
    progress: Progress,
) -> None:
    manifest_bytes = json.dumps(manifest, sort_keys=True, indent=1, ensure_ascii=False).encode()
    indexes = {part.index.name for part in parts}
    tables = [member for member in spooled if member.name not in indexes]
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(tar_info(MANIFEST, len(manifest_bytes)), io.BytesIO(manifest_bytes))
        with progress.task("archive", total=sum(m.size for m in tables), unit="B") as bar:
            for member in tables:
                _add_spooled(tar, member)
                bar.update(member.size)
        for part in parts:
            _add_spooled(tar, part.index)
            total = sum(item.size for item in part.files)
            with progress.task(f"files ({part.participant})", total=total, unit="B") as bar:
                for item in part.files:
                    member = file_member(part.participant, item.name)
                    tar.addfile(tar_info(member, item.size), CheckedFile(part.participant, item))
                    bar.update(item.size)


def _add_spooled(tar: tarfile.TarFile, member: SpooledMember) -> None:
    member.file.seek(0)
    tar.addfile(tar_info(member.name, member.size), member.file)
