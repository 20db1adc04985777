"""``benben restore``: an archive into an empty database of either backend, all or nothing.

1. The whole archive is verified first: a corrupt one never touches the target.
2. This Benben must be able to take it: no newer Benben version, every migration head known,
   every plugin with data in the archive installed and enabled (:mod:`restore_checks`).
3. The target must hold no data, unless ``force`` (then its contents are replaced).
4. The schema is brought to the archive's migration heads, the rows and files loaded, the
   sequences set, the schema migrated on to the installed heads, and each participant's
   ``after_restore`` run (installed code, on the installed schema).  PostgreSQL does all of it
   in one transaction; SQLite builds a new file and swaps it in (:mod:`restore_sqlite`).  Any
   failure leaves the target as it was, and the files written so far are discarded.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from benben.backup.format import ArchiveError
from benben.backup.manifest import Manifest
from benben.backup.participants import BackupParticipant, backup_participants
from benben.backup.reader import ArchiveReader
from benben.backup.restore_checks import (
    RestoreError,
    check_compatible,
    describe_nonempty,
    existing_tables,
    nonempty_tables,
)
from benben.backup.restore_load import Loaded, load_archive, set_sequences
from benben.db.migrations import (
    MigrationSource,
    downgrade_to_base,
    lock_in_transaction,
    migrate_to,
)

__all__ = ["ArchiveError", "RestoreError", "RestoreResult", "restore_archive"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestoreResult:
    """What a restore wrote, where, in how long."""

    database: str
    manifest: Manifest
    tables: int
    rows: int
    files: int
    file_bytes: int
    seconds: float
    notes: list[str] = field(default_factory=list)


def restore_archive(
    registry: Any, location: str | os.PathLike[str], *, force: bool = False, progress: Any = None
) -> RestoreResult:
    """Restore the archive at ``location`` (a file, or ``s3://bucket/key``) into the database of
    ``registry``'s app.  Raises :class:`ArchiveError` (a damaged archive) or
    :class:`RestoreError` (refused, or failed); either way the target is as it was."""
    from benben.backup.targets import fetch_archive
    from benben.db import get_engine, migration_sources

    started = time.monotonic()
    with fetch_archive(registry.settings, os.fspath(location)) as path:
        # The manifest decides whether to go on; each member is then checked as it is loaded
        # (size, sha256, every row), and any problem rolls everything back: one pass, not a
        # verification and then a load.
        with ArchiveReader(path) as reader:
            manifest = reader.manifest
        sources = migration_sources(registry)
        participants = backup_participants(registry)
        notes = check_compatible(manifest, sources, participants, registry)
        engine = get_engine(registry)
        plan = _Plan(registry, path, manifest, sources, participants, force, progress)
        if engine.dialect.name == "postgresql":
            loaded = _restore_postgresql(engine, plan)
        else:
            from benben.backup.restore_sqlite import restore_sqlite

            loaded = restore_sqlite(engine, plan)
    return RestoreResult(
        database=engine.url.render_as_string(hide_password=True),
        manifest=manifest,
        tables=loaded.tables,
        rows=loaded.rows,
        files=loaded.files,
        file_bytes=loaded.file_bytes,
        seconds=time.monotonic() - started,
        notes=notes,
    )


@dataclass(frozen=True)
class _Plan:
    """What both backends' restores work from."""

    registry: Any
    path: Any
    manifest: Manifest
    sources: Sequence[MigrationSource]
    participants: Sequence[BackupParticipant]
    force: bool
    progress: Any

    def check_empty(self, connection: Connection) -> set[str]:
        """The target's tables; refuses a target holding data unless ``force``."""
        present = existing_tables(connection)
        found = nonempty_tables(connection, self.participants, present)
        if found and not self.force:
            raise RestoreError(
                f"the target database is not empty ({describe_nonempty(found)}): restore into "
                "an empty database, or pass --force to replace its contents",
                usage=True,
            )
        return present

    def to_archive_heads(self, connection: Connection) -> None:
        for source in self.sources:
            migrate_to(connection, source, self.manifest.migrations.get(source.name, ()))

    def load(self, connection: Connection, loaded: Loaded) -> None:
        by_name = {participant.name: participant for participant in self.participants}
        with ArchiveReader(self.path) as reader:
            load_archive(connection, reader, by_name, self.registry, self.progress, loaded)
        set_sequences(connection, self.manifest.tables())

    def after_restore(self, connection: Connection) -> None:
        for participant in self.participants:
            if participant.after_restore is not None:
                if self.progress is not None:
                    self.progress.note(f"rebuilding what {participant.name} derives from its data")
                participant.after_restore(connection)

    def discard(self, loaded: Loaded) -> None:
        """A failed restore: the files written so far removed (their participant decides)."""
        by_name = {participant.name: participant for participant in self.participants}
        for name, written in loaded.written.items():
            files = by_name[name].files
            if files is None or not written:
                continue
            try:
                files.discard(self.registry, written)
            except Exception:
                # The restore's own failure is what the user must see; this one is logged.
                log.exception("discarding the %d files restored for %s failed", len(written), name)


def _restore_postgresql(engine: Any, plan: _Plan) -> Loaded:
    loaded = Loaded()
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            lock_in_transaction(connection)
            present = plan.check_empty(connection)
            _clear_schema(connection, plan, present)
            plan.to_archive_heads(connection)
            plan.load(connection, loaded)
            for source in plan.sources:
                migrate_to(connection, source, sorted(source.heads()))
            plan.after_restore(connection)
            transaction.commit()
        except BaseException:
            transaction.rollback()
            plan.discard(loaded)
            raise
    return loaded


def _clear_schema(connection: Connection, plan: _Plan, present: set[str]) -> None:
    """Take the target's Benben schema away (in the restore's transaction): its rows first
    (a downgrade may refuse data, e.g. token names it can no longer keep unique), then each
    source downgraded to no revision, plugins before core."""
    installed = [source for source in plan.sources if source.version_table in present]
    if not installed:
        return
    tables = [
        table.name
        for participant in plan.participants
        for table in participant.tables
        if table.name in present
    ]
    if tables:
        quote = connection.dialect.identifier_preparer.quote
        connection.execute(text(f"TRUNCATE {', '.join(quote(t) for t in tables)} CASCADE"))
    for source in reversed(installed):
        unknown = sorted(
            revision
            for revision in source.current(connection)
            if revision not in {r.revision for r in source.script().walk_revisions()}
        )
        if unknown:
            raise RestoreError(
                f"the target database is at migration {unknown[0]} of {source.name}, unknown to "
                "this Benben: it was used by a newer one; restore into another database"
            )
        downgrade_to_base(connection, source)
