"""Run every migration source — core first, then plugins in requirement order — each with its own
Alembic version table, without needing an ``env.py`` or ``alembic.ini`` per plugin."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pyramid.exceptions import ConfigurationError
from pyramid.path import AssetResolver
from sqlalchemy import Connection, Engine, text

from benben.db.meta import Base

log = logging.getLogger(__name__)

# Arbitrary constant: the PostgreSQL advisory lock that serialises concurrent `benben migrate` runs.
_ADVISORY_LOCK_ID = 0x62656E62


@dataclass(frozen=True)
class MigrationSource:
    """A directory of Alembic revisions owned by core or by one plugin."""

    name: str
    location: str
    version_table: str

    def script(self) -> ScriptDirectory:
        return ScriptDirectory(self.location, version_locations=[self.location])

    def heads(self) -> set[str]:
        return set(self.script().get_heads())

    def current(self, connection: Connection) -> set[str]:
        _quiet_alembic()
        context = MigrationContext.configure(connection, opts={"version_table": self.version_table})
        return set(context.get_current_heads())


@dataclass(frozen=True)
class MigrationResult:
    name: str
    before: tuple[str, ...]
    after: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.before != self.after


def resolve_location(spec: str) -> str:
    """``package:dir`` asset spec (or a path) -> an existing directory."""
    path = AssetResolver().resolve(spec).abspath() if ":" in spec else os.path.abspath(spec)
    if not os.path.isdir(path):
        raise ConfigurationError(f"migration directory {spec!r} does not exist ({path})")
    return path


def pending(engine: Engine, sources: Sequence[MigrationSource]) -> list[str]:
    """Names of the sources whose database revision is not their head."""
    behind = []
    with engine.connect() as connection:
        for source in sources:
            if source.current(connection) != source.heads():
                behind.append(source.name)
        connection.rollback()
    return behind


def upgrade(engine: Engine, sources: Sequence[MigrationSource]) -> list[MigrationResult]:
    """Bring every source to its head, in order; safe to run from several processes at once."""
    results = []
    with engine.connect() as connection, _exclusive(connection):
        for source in sources:
            before = tuple(sorted(source.current(connection)))
            connection.commit()
            if set(before) == source.heads():
                results.append(MigrationResult(source.name, before, before))
                continue  # nothing to run: no Alembic environment, no log line
            _upgrade_one(connection, source)
            after = tuple(sorted(source.current(connection)))
            connection.commit()
            if before != after:
                log.info("migrated %s: %s -> %s", source.name, before or "(empty)", after)
            results.append(MigrationResult(source.name, before, after))
    return results


class _AlembicChatter(logging.Filter):
    """Drops the two lines Alembic logs whenever it looks at a database ("Context impl
    SQLiteImpl.", "Will assume non-transactional DDL."): said on every start, they read as if
    something ran. Its "Running upgrade" lines, when something does run, stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in _CHATTER


_CHATTER = frozenset({"Context impl %s.", "Will assume %s DDL."})


def _quiet_alembic() -> None:
    alembic_log = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, _AlembicChatter) for f in alembic_log.filters):
        alembic_log.addFilter(_AlembicChatter())


def _upgrade_one(connection: Connection, source: MigrationSource) -> None:
    script = source.script()

    def steps(revision, _context):  # type: ignore[no-untyped-def]
        return script._upgrade_revs("heads", revision)

    with EnvironmentContext(Config(), script, fn=steps, destination_rev="heads") as env:
        env.configure(
            connection=connection,
            version_table=source.version_table,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with env.begin_transaction():
            env.run_migrations()
    if connection.in_transaction():
        connection.commit()


def migrate_to(connection: Connection, source: MigrationSource, revisions: Sequence[str]) -> None:
    """Upgrade ``source`` from the database's revisions to ``revisions`` (a restore brings a
    database to its archive's heads first) in the caller's transaction, which must be begun:
    Alembic then commits nothing, so that the caller's rollback undoes it all."""
    script = source.script()
    target = tuple(revisions)
    if not target:
        return

    def steps(revision, _context):  # type: ignore[no-untyped-def]
        return script._upgrade_revs(target, revision)  # type: ignore[arg-type]

    _run_in_transaction(connection, source, steps)


def downgrade_to_base(connection: Connection, source: MigrationSource) -> None:
    """Downgrade ``source`` to no revision at all (its tables gone) in the caller's begun
    transaction, committing nothing: a forced restore takes the old schema away this way."""
    script = source.script()

    def steps(revision, _context):  # type: ignore[no-untyped-def]
        return script._downgrade_revs("base", revision)

    _run_in_transaction(connection, source, steps)


def _run_in_transaction(connection: Connection, source: MigrationSource, steps: object) -> None:
    if not connection.in_transaction():
        raise RuntimeError("migrate_to/downgrade_to_base need the caller's transaction begun")
    _quiet_alembic()
    with EnvironmentContext(Config(), source.script(), fn=steps) as env:
        env.configure(
            connection=connection,
            version_table=source.version_table,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with env.begin_transaction():  # a no-op in the caller's transaction
            env.run_migrations()


def lock_in_transaction(connection: Connection) -> None:
    """PostgreSQL: hold the migrations' lock until the caller's transaction ends, so that no
    ``benben migrate`` (or server start) runs while a restore replaces the schema."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})


def sqlite_migration_lock(database: str | None) -> contextlib.AbstractContextManager[None]:
    """The lock SQLite's migrations take (a file next to the database): held by a restore
    while it swaps the database file, so that a server starting meanwhile waits."""
    return _file_lock(database)


@contextlib.contextmanager
def _exclusive(connection: Connection) -> Iterator[None]:
    """One upgrade at a time per database, across processes (several workers may start at once)."""
    if connection.dialect.name == "sqlite":
        with _file_lock(connection.engine.url.database):
            yield
        return
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
    connection.commit()
    try:
        yield
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _ADVISORY_LOCK_ID})
        connection.commit()


@contextlib.contextmanager
def _file_lock(database: str | None) -> Iterator[None]:
    """SQLite has no advisory locks: an flock() on a file next to the database stands in."""
    try:
        import fcntl
    except ModuleNotFoundError:  # pragma: no cover - Windows: one process at a time is on you
        yield
        return
    if not database or database == ":memory:" or database.startswith("file:"):
        yield  # private to this process: nothing to share
        return
    fd = os.open(database + ".migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
