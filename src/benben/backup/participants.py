"""Who takes part in backups: core and each plugin declare their tables (what to dump, in the
order to restore them) and, optionally, files kept outside the database and what to rebuild
after a restore.  ``config.add_backup_participant(...)`` is the plugin API (``benben.plugin``).

A plugin that registers migrations but no participant is named in the archive's manifest
(``not_backed_up``) and by ``benben backup`` on stderr: its data is not in the archive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from sqlalchemy import Connection, Table

from benben.plugins.installed import including_plugin

__all__ = [
    "BackupFile",
    "BackupFiles",
    "BackupParticipant",
    "add_backup_participant",
    "backup_participants",
    "table_columns",
]

PARTICIPANTS_KEY = "benben.backup.participants"
CORE = "core"


@dataclass(frozen=True)
class BackupFile:
    """One file kept outside the database: its member name (unique within its participant,
    ``[A-Za-z0-9._-]`` only), its size and sha256 (checked while it is copied), and how to
    read it (an iterator of byte chunks, opened when the archive writes it)."""

    name: str
    size: int
    sha256: str
    open: Callable[[], Iterator[bytes]]


class BackupFiles(Protocol):
    """A participant's files outside the database (the files plugin's blobs)."""

    def list(self, registry: Any, connection: Connection) -> Iterator[BackupFile]:
        """The files the snapshot refers to, read in the backup's transaction (``connection``)."""

    def restore(self, registry: Any, name: str, chunks: Iterator[bytes]) -> None:
        """Store one file back (``chunks``: its bytes, already checked against the archive)."""

    def discard(self, registry: Any, names: Sequence[str]) -> None:
        """A failed restore: remove the files :meth:`restore` stored, unless they were there
        before (a content-addressed store may keep what it already had)."""


@dataclass(frozen=True)
class BackupParticipant:
    """What one participant (``core`` or a plugin, by its name) contributes to an archive.

    - ``tables``: SQLAlchemy tables in restore order (a table after those its foreign keys
      name); their columns marked ``info={"dialect": ...}`` (one backend's derived data, such
      as PostgreSQL's ``search_vector``) are left out, as are tables so marked.
    - ``files``: the participant's files outside the database, or None.
    - ``after_restore(connection)``: run in the restore's transaction once every table is
      loaded, to rebuild what is derived from the data (indexes, search vectors).
    """

    name: str
    tables: tuple[Table, ...]
    files: BackupFiles | None = None
    after_restore: Callable[[Connection], None] | None = None
    version: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def table_columns(table: Table) -> list[Any]:
    """The columns an archive keeps of ``table``: all but one backend's derived ones."""
    return [column for column in table.columns if "dialect" not in column.info]


def backup_participants(registry: Any) -> list[BackupParticipant]:
    """Core's participant first, then the plugins' in the order they were included."""
    return list(registry.get(PARTICIPANTS_KEY, []))


def add_backup_participant(
    config: Configurator,
    tables: Sequence[Table | Any],
    *,
    files: BackupFiles | None = None,
    after_restore: Callable[[Connection], None] | None = None,
) -> None:
    """Directive: back up ``tables`` (Table objects or ORM classes, in restore order) of core or
    of the calling plugin, with its ``files`` and its ``after_restore`` hook."""
    plugin = including_plugin(config.registry)
    name = CORE if plugin is None else plugin.name
    version = "" if plugin is None else (plugin.version or "")
    resolved = tuple(_as_table(name, table) for table in tables)
    kept = tuple(table for table in resolved if "dialect" not in table.info)
    participant = BackupParticipant(name, kept, files, after_restore, version)

    def register() -> None:
        config.registry.setdefault(PARTICIPANTS_KEY, []).append(participant)

    intr = config.introspectable("benben backup participants", name, name, "backup participant")
    intr.update(
        owner=name,
        tables=[table.name for table in kept],
        files=files,
        after_restore=after_restore,
    )
    config.action(("benben-backup-participant", name), register, introspectables=(intr,))


def _as_table(owner: str, table: Table | Any) -> Table:
    if isinstance(table, Table):
        return table
    found = getattr(table, "__table__", None)
    if isinstance(found, Table):
        return found
    raise ConfigurationError(
        f"add_backup_participant ({owner}): {table!r} is neither a Table nor an ORM class"
    )
