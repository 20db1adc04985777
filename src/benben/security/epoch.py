"""The auth epoch: how processes that share nothing but the database hear that who may do what
changed.

Verified identities and principal facts are cached in each process.  With Redis, a change is
announced on the version board and every instance hears of it.  With the in-process memory cache
nothing is announced beyond the process, yet another process may change accounts: the
``benben users`` command next to a running ``benben serve`` on the embedded default, or other
instances on one PostgreSQL database.  So with the memory cache, every such change also advances
one row, ``benben_auth_epoch``, in its own transaction, and what is cached is valid for one epoch
only:

- on SQLite (a file), ``PRAGMA data_version`` says whether any other connection committed since
  we last looked (see :class:`DataVersionWatcher`); only then is the row read again and its
  value learned on the board under :data:`AUTH_COUNTER`, which keys the verified identities (so
  the hot path reads no table);
- on PostgreSQL (whose board is never trusted with a memory cache: nothing is kept in process),
  the row is read in each authenticated request's own session, and the cached facts are used
  only when they were stored under that same epoch.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session

from benben.cache import version_board
from benben.cache.versions import VersionBoard

__all__ = [
    "AUTH_COUNTER",
    "DataVersionWatcher",
    "advance_epoch",
    "epoch_in_database",
    "epoch_watcher",
    "near_epoch",
    "outdate_identities_after_commit",
    "read_epoch",
]

# The board counter every change to who-may-do-what advances; verified JWT identities are
# cached in process under it (see benben.security.identity).
AUTH_COUNTER = "auth"
_WATCHER_KEY = "benben.security.epoch_watcher"
_EPOCH_ROW = 1
_READ_EPOCH_SQL = "SELECT value FROM benben_auth_epoch WHERE id = 1"


def epoch_in_database(settings: Mapping[str, Any]) -> bool:
    """Whether changes are told through the database: with private memory caches.  With Redis the
    board carries them; with the null cache nothing is cached."""
    return settings["benben.cache.backend"] == "memory"


def read_epoch(dbsession: Session) -> int:
    from benben.security.models import AuthEpoch

    value = dbsession.scalar(select(AuthEpoch.value).where(AuthEpoch.id == _EPOCH_ROW))
    return int(value or 0)


def advance_epoch(dbsession: Session) -> int:
    """Advance the epoch in ``dbsession``'s transaction; the new value."""
    from benben.security.models import AuthEpoch

    value = dbsession.scalar(
        update(AuthEpoch)
        .where(AuthEpoch.id == _EPOCH_ROW)
        .values(value=AuthEpoch.value + 1)
        .returning(AuthEpoch.value)
    )
    if value is None:  # the row was deleted by hand: start it again, above anything cached
        dbsession.add(AuthEpoch(id=_EPOCH_ROW, value=1))
        dbsession.flush()
        value = 1
    return int(value)


class DataVersionWatcher:
    """Whether another connection committed to an SQLite file since the last look; if so, the
    epoch read again and learned on the board.

    The gate is ``PRAGMA data_version`` on the watcher's own connection (a few microseconds, no
    table read): SQLite's documented answer to "did another connection commit since I last
    asked".  It opens on any write by any other connection, this process's pool included, so it
    only gates reading the epoch row.

    A forked child (``benben serve --workers``) starts afresh on a connection of its own (an
    SQLite connection must not cross a fork).
    """

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._uri = path.startswith("file:")
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        # Connections of parents, kept open unused: closing one in a child is a use of it too.
        self._inherited: list[sqlite3.Connection] = []
        self._seen: int | None = None  # the data_version as of the last epoch read
        self.reads = 0  # epoch rows read: how often the gate opened
        reference = weakref.ref(self)  # fork hooks cannot be unregistered: hold self weakly
        os.register_at_fork(after_in_child=lambda: _forget_inherited(reference()))

    def _forget_inherited(self) -> None:
        """In a forked child: the parent's connection is dropped unused, and a lock a parent's
        thread held at the fork is replaced; the next call connects again."""
        self._lock = threading.Lock()
        if self._connection is not None:
            self._inherited.append(self._connection)
        self._connection = None
        self._seen = None

    def catch_up(self, board: VersionBoard) -> bool:
        """Learn the epoch if anyone committed since the last call; False when the database
        could not be asked (the caller then trusts nothing cached)."""
        with self._lock:
            try:
                return self._read_epoch(board)
            except (sqlite3.Error, OSError):
                self._close()
                return False

    def _read_epoch(self, board: VersionBoard) -> bool:
        """Under the lock: the data version first, then the epoch, so that a commit in between
        is seen now or next time."""
        connection = self._connect()
        seen = connection.execute("PRAGMA data_version").fetchone()[0]
        if seen == self._seen:
            return True
        row = connection.execute(_READ_EPOCH_SQL).fetchone()
        self.reads += 1
        board.learn({AUTH_COUNTER: int(row[0]) if row else 0})
        self._seen = seen
        return True

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = sqlite3.connect(
                self.path,
                timeout=self.timeout,
                isolation_level=None,  # autocommit: never holds a read snapshot
                check_same_thread=False,  # used under self._lock by any thread
                uri=self._uri,
            )
            self._seen = None
        return self._connection

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._seen = None


def _forget_inherited(watcher: DataVersionWatcher | None) -> None:
    if watcher is not None:
        watcher._forget_inherited()


def epoch_watcher(registry: Any) -> DataVersionWatcher | None:
    """The watcher of the embedded default (an SQLite file, memory caches); None elsewhere."""
    return registry.get(_WATCHER_KEY)


def near_epoch(request: Request) -> int | None:
    """The epoch under which identities verified in this process may be reused; None when they
    may not (the board is not trusted, or the database could not be asked)."""
    board = version_board(request.registry)
    watcher = epoch_watcher(request.registry)
    if watcher is not None and not watcher.catch_up(board):
        return None
    return board.counter(AUTH_COUNTER)


def outdate_identities_after_commit(request: Request) -> None:
    """Once the transaction commits, every instance stops trusting the identities and principal
    facts it cached before (a revocation, a changed role or membership, a deactivation...)."""
    board = version_board(request.registry)
    transaction = request.tm.get()
    if getattr(transaction, "_benben_outdates_identities", False):
        return  # one bump per transaction is enough
    transaction._benben_outdates_identities = True
    if not epoch_in_database(request.registry.settings):

        def announce(committed: bool) -> None:
            if committed:
                board.bump_counter(AUTH_COUNTER)

        transaction.addAfterCommitHook(announce)
        return
    dbsession: Session | None = getattr(request, "dbsession", None)
    advanced: list[int] = []
    if dbsession is not None:
        # Last thing before the commit: the row's lock (PostgreSQL) is taken after every other
        # row this transaction locks, and held only for the commit.
        transaction.addBeforeCommitHook(lambda: advanced.append(advance_epoch(dbsession)))

    def learn(committed: bool) -> None:
        if not committed:
            return
        if not advanced:
            # A bare scripted request without a session: advanced in a transaction of its own,
            # after the change (whoever cached in between cached the new state).
            advanced.append(_advance_alone(request.registry))
        board.learn({AUTH_COUNTER: advanced[0]})

    transaction.addAfterCommitHook(learn)


def _advance_alone(registry: Any) -> int:
    from benben.db import session_factory

    with session_factory(registry)() as session, session.begin():
        return advance_epoch(session)


def includeme(config: Configurator) -> None:
    """The watcher, for the embedded default: an SQLite file with the memory cache."""
    from benben.db import get_engine

    engine: Engine = get_engine(config.registry)
    url = engine.url
    database = url.database or ""
    if (
        not epoch_in_database(config.get_settings())
        or url.get_backend_name() != "sqlite"
        or database in ("", ":memory:")
        or "mode=memory" in database
    ):
        return
    timeout = float(config.get_settings().get("benben.database.connect_timeout", 5))
    watcher = DataVersionWatcher(database, timeout)
    config.registry[_WATCHER_KEY] = watcher
    # Closed with the engine (tests dispose theirs); opened again on next use if need be.
    event.listen(engine, "engine_disposed", lambda _engine: watcher.close())
