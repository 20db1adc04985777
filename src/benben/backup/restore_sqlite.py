"""A restore into SQLite: a new database file built next to the target, then swapped in.

The new file (``<name>.restoring``) is migrated to the archive's heads, loaded, migrated on to
the installed heads, rebuilt (``after_restore``), switched out of WAL mode (so that it is one
self-contained file) and fsynced.  Then, holding the migrations' lock (a server starting waits)
and an exclusive lock on the target (refused while a server or worker has it open), the old
database's WAL is checkpointed into it, and ``os.replace`` puts the new file in its place: the
target is the old database or the new one, never a mixture, and no -wal of the old one is left
for SQLite to replay onto the new.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from benben.backup.restore_checks import RestoreError
from benben.backup.restore_load import Loaded
from benben.db.engine import SQLITE_COMPANIONS, create_engine_from_settings
from benben.db.migrations import sqlite_migration_lock, upgrade

__all__ = ["restore_sqlite"]

SUFFIX = ".restoring"


def restore_sqlite(engine: Engine, plan: Any) -> Loaded:
    """Restore ``plan`` (restore._Plan) into the SQLite database of ``engine``."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise RestoreError(f"cannot restore into the SQLite database {database!r}: not a file")
    target = Path(database).resolve()
    with engine.connect() as connection:
        plan.check_empty(connection)
        connection.rollback()
    _refuse_if_open_elsewhere(target)  # at once, not after the whole load
    scratch = target.with_name(target.name + SUFFIX)
    _remove(scratch)  # a crashed restore's leftovers
    loaded = Loaded()
    settings = {**plan.registry.settings, "benben.database.url": f"sqlite:///{scratch}"}
    building = create_engine_from_settings(settings)
    # What the app does on each new connection (SQL functions its triggers call, registered by
    # core and plugins on the app's engine) done on the new file's connections too.
    for listener in list(engine.pool.dispatch.connect):
        event.listen(building, "connect", listener)
    try:
        with building.connect() as connection:
            with connection.begin():
                plan.to_archive_heads(connection)
            with connection.begin():
                plan.load(connection, loaded)
        # On to the installed heads exactly as `benben migrate` would (batch migrations on
        # SQLite commit as they go: the file is not the target yet).
        upgrade(building, plan.sources)
        with building.begin() as connection:
            plan.after_restore(connection)
        building.dispose()
        _self_contained(scratch)
        engine.dispose()  # this process's connections to the old file: none during the swap
        with sqlite_migration_lock(str(target)):
            _swap(target, scratch)
    except BaseException:
        building.dispose()
        _remove(scratch)
        plan.discard(loaded)
        raise
    return loaded


def _self_contained(path: Path) -> None:
    """Out of WAL mode (the server's connections turn it back on): no -wal to travel with it."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    with open(path, "rb") as written:
        os.fsync(written.fileno())


# SQLite's unix VFS: every connection to a WAL database holds a read lock on this byte of the
# -shm file while it is open (the "DMS" slot; a connection alone may write-lock it).
_SHM_DMS_BYTE = 128


def _refuse_if_open_elsewhere(target: Path) -> None:
    """Refuse while another process has the database open, without opening it (a connection's
    close would checkpoint it: the target must stay byte for byte as it was until the swap)."""
    try:
        import fcntl
    except ModuleNotFoundError:  # pragma: no cover - Windows: checked at the swap only
        return
    try:
        descriptor = os.open(f"{target}-shm", os.O_RDWR)
    except FileNotFoundError:
        return  # no connection in WAL mode has it open
    try:
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_BYTE)
    except OSError:
        raise RestoreError(_in_use(target)) from None
    finally:
        # Closing also drops this process's own SQLite locks on the file (POSIX): its
        # connections to it are only closed from here on, never used.
        os.close(descriptor)


def _in_use(target: Path) -> str:
    return (
        f"the database {target} is in use (a running benben serve, worker or shell?): "
        "stop them, then restore again"
    )


@contextlib.contextmanager
def _exclusive(target: Path) -> Iterator[sqlite3.Connection | None]:
    """A connection holding ``target`` exclusively (None: no file yet), or a refusal naming
    it.  Exclusive locking mode keeps the lock the first read takes until the connection
    closes: no other connection, another process's pool included, has the database open."""
    if not target.exists():
        yield None
        return
    connection = sqlite3.connect(target, isolation_level=None, timeout=0)
    try:
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        try:
            connection.execute("BEGIN EXCLUSIVE")
            connection.execute("SELECT count(*) FROM sqlite_master").fetchall()
            connection.execute("COMMIT")
        except sqlite3.OperationalError:
            raise RestoreError(_in_use(target)) from None
        yield connection
    finally:
        connection.close()


def _swap(target: Path, scratch: Path) -> None:
    with _exclusive(target) as connection:
        if connection is not None:
            # The old database whole in its own file: its WAL (committed data) is not left
            # behind to be replayed onto the new one.
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.execute("PRAGMA journal_mode=DELETE")
    os.replace(scratch, target)
    for suffix in SQLITE_COMPANIONS:
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{target}{suffix}")
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself durable
    finally:
        os.close(directory)


def _remove(path: Path) -> None:
    for suffix in ("", *SQLITE_COMPANIONS):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")
