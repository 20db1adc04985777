"""What a restore checks before it touches anything: that this Benben can take the archive
(versions, migrations, plugins), and that the target holds nothing a restore would destroy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alembic.util.exc import CommandError as AlembicCommandError
from sqlalchemy import Connection, func, inspect, select, table

from benben.backup.manifest import Manifest
from benben.backup.participants import BackupParticipant
from benben.db.migrations import MigrationSource
from benben.plugins.installed import installed_plugins
from benben.version import __version__

__all__ = ["RestoreError", "check_compatible", "existing_tables", "nonempty_tables"]


class RestoreError(Exception):
    """A restore refused or failed; the target is as it was.  ``usage``: the refusal is about
    what was asked (a non-empty target without force), not a failure."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


def check_compatible(
    manifest: Manifest,
    sources: Sequence[MigrationSource],
    participants: Sequence[BackupParticipant],
    registry: Any,
) -> list[str]:
    """Refuse an archive this Benben cannot restore; return notes (what is skipped, and why)."""
    _check_version(manifest.benben_version)
    installed = {source.name: source for source in sources}
    with_tables = {p.name for p in manifest.participants if p.tables}
    notes = []
    for name, heads in manifest.migrations.items():
        source = installed.get(name)
        if source is None:
            if name in with_tables:
                raise RestoreError(_missing_plugin(manifest, name, registry))
            notes.append(
                f"the archive's instance had plugin '{name}' (its data was not in the archive); "
                "it is not installed here"
            )
            continue
        script = source.script()
        for head in heads:
            try:
                known = script.get_revision(head) is not None
            except AlembicCommandError:
                known = False
            if not known:
                who = "Benben" if name == "core" else f"plugin '{name}'"
                raise RestoreError(
                    f"archive is from a newer Benben ({manifest.benben_version}): its migration "
                    f"{head} of {name} is unknown here; upgrade {who}"
                )
    enabled = {participant.name for participant in participants}
    for name in sorted(with_tables - enabled):
        raise RestoreError(_missing_plugin(manifest, name, registry))
    return notes


def _check_version(archived: str) -> None:
    from packaging.version import InvalidVersion, Version

    try:
        newer = Version(archived) > Version(__version__)
    except InvalidVersion:
        return  # not comparable: the migrations' heads decide alone
    if newer:
        raise RestoreError(
            f"archive is from a newer Benben ({archived}) than this one ({__version__}): "
            "upgrade Benben"
        )


def _missing_plugin(manifest: Manifest, name: str, registry: Any) -> str:
    versions = {p.name: p.version for p in manifest.participants}
    made = f" {versions[name]}" if versions.get(name) else ""
    state = {plugin.name: plugin.status for plugin in installed_plugins(registry)}.get(name)
    why = "is not installed" if state is None else f"is installed but {state}"
    return (
        f"archive holds data of plugin '{name}'{made}, which {why} here: install and enable "
        "it (pip install <its package>; benben.plugins.enabled), then restore again"
    )


def existing_tables(connection: Connection) -> set[str]:
    """The tables of the connection's database (PostgreSQL: its current schema)."""
    return set(inspect(connection).get_table_names())


def nonempty_tables(
    connection: Connection, participants: Sequence[BackupParticipant], present: set[str]
) -> list[tuple[str, int]]:
    """Participants' tables (those present) holding rows: (table, rows), in restore order."""
    found = []
    for participant in participants:
        for participant_table in participant.tables:
            name = participant_table.name
            # A table whose rows a migration writes (info "backup_seeded": the auth epoch's one
            # row) is filled in every migrated database: it does not make one "not empty".
            if name in present and not participant_table.info.get("backup_seeded"):
                rows = connection.execute(select(func.count()).select_from(table(name)))
                count = int(rows.scalar_one())
                if count:
                    found.append((name, count))
    return found


def describe_nonempty(found: list[tuple[str, int]]) -> str:
    """``12 users, 3 collections, 40 records...``: a table's name without its ``benben_``."""
    parts = [f"{count:,} {name.removeprefix('benben_').replace('_', ' ')}" for name, count in found]
    return ", ".join(parts[:4]) + ("..." if len(parts) > 4 else "")
