"""Exactly one scheduler per deployment: Celery beat runs only while holding the scheduler lock.

Two schedulers would send every periodic task twice (Celery's documentation says so), so
``benben scheduler``, ``benben worker --beat`` and the embedded default all run beat through
:class:`SchedulerRunner`, which first takes the lock named ``benben.worker.scheduler_lock``:

- PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a connection the holder
  keeps open; the server releases it the moment that connection ends (process killed, host
  gone), and the holder checks its connection every ``scheduler_standby_seconds``;
- SQLite: ``flock`` on a lock file in the data directory (one machine: where SQLite lives);
  the kernel releases it when the process dies.

A scheduler that finds the lock taken logs that it is a standby, tries again every
``benben.worker.scheduler_standby_seconds`` and takes over when the holder is gone.  The
schedule is kept in memory (no shelve file): a scheduler that takes the lock sends each periodic
task once at once, then every interval, so nothing waits a whole interval after a takeover.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import logging
import os
import threading
from typing import Any, Protocol

from celery.beat import Scheduler, Service
from pyramid.registry import Registry
from sqlalchemy import text

from benben.worker.tasks import get_celery

__all__ = [
    "FileLock",
    "PostgresLock",
    "SchedulerLock",
    "SchedulerRunner",
    "StartupScheduler",
    "scheduler_lock",
]

log = logging.getLogger(__name__)

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_BEAT_TICK = 0.5  # beat's longest sleep: how soon a stop (or a lost lock) ends it


class SchedulerLock(Protocol):
    def acquire(self) -> bool:
        """Take the lock if free; whether this process holds it now."""

    def held(self) -> bool:
        """Whether the lock taken is still held (False: lost, e.g. the connection died)."""

    def release(self) -> None:
        """Give the lock up (safe when not held)."""


class PostgresLock:
    """A session advisory lock, held by a connection kept out of the pool's hands."""

    def __init__(self, engine: Any, name: str) -> None:
        self.engine = engine
        self.name = name
        digest = hashlib.sha256(name.encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        self.connection: Any = None

    def acquire(self) -> bool:
        if self.connection is not None:
            return self.held()
        connection = self.engine.connect()
        try:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar()
            connection.commit()  # a session lock outlives the transaction
        except Exception:
            self._drop(connection)
            raise
        if not taken:
            connection.close()
            return False
        self.connection = connection
        return True

    def held(self) -> bool:
        if self.connection is None:
            return False
        try:
            self.connection.execute(text("SELECT 1"))
            self.connection.commit()
            return True
        except Exception:
            log.warning("scheduler lock %s: its connection failed", self.name, exc_info=True)
            self._drop(self.connection)
            self.connection = None
            return False

    def release(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            connection.commit()
        except Exception:
            log.debug("scheduler lock %s: unlock failed", self.name, exc_info=True)
        # Never back to the pool: a session lock would go with it to whoever checks it out.
        self._drop(connection)

    @staticmethod
    def _drop(connection: Any) -> None:
        try:
            connection.invalidate()
            connection.close()
        except Exception:
            log.debug("closing the scheduler lock's connection failed", exc_info=True)


class FileLock:
    """``flock`` on ``path``: per open file, so two schedulers of one process exclude too."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        if self.fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def scheduler_lock(registry: Registry) -> SchedulerLock:
    """The lock of this app's database: advisory on PostgreSQL, a file next to SQLite's."""
    from benben.db import get_engine

    settings = registry.settings
    name = settings["benben.worker.scheduler_lock"]
    engine = get_engine(registry)
    if engine.dialect.name == "postgresql":
        return PostgresLock(engine, name)
    from benben.files import private_directory

    directory = settings["benben.data_dir"]
    private_directory(directory)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return FileLock(os.path.join(directory, f"{safe}.lock"))


class StartupScheduler(Scheduler):
    """Celery's in-memory scheduler, every entry due at once when it starts (see above)."""

    def setup_schedule(self) -> None:
        super().setup_schedule()
        for entry in self.schedule.values():
            entry.last_run_at = _EPOCH


class SchedulerRunner:
    """A thread: beat while holding the lock, standby otherwise; :meth:`stop` ends both."""

    def __init__(self, registry: Registry, *, embedded: bool = False) -> None:
        self.registry = registry
        self.embedded = embedded
        self.interval = float(registry.settings["benben.worker.scheduler_standby_seconds"])
        self.lock = scheduler_lock(registry)
        self.stopping = threading.Event()
        self.active = threading.Event()  # set while beat runs here (tests, health)
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="benben-scheduler", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def run(self) -> None:
        name = self.registry.settings["benben.worker.scheduler_lock"]
        standby_logged = False
        while not self.stopping.is_set():
            try:
                taken = self.lock.acquire()
            except Exception as exc:
                log.warning("scheduler lock %s: cannot try it (%s); retrying", name, exc)
                taken = False
            if not taken:
                if not standby_logged:
                    log.info("scheduler: standby, lock %s is held by another scheduler", name)
                    standby_logged = True
                self.stopping.wait(self.interval)
                continue
            standby_logged = False
            log.info("scheduler: holding lock %s, sending the periodic tasks", name)
            try:
                self._beat_while_held(name)
            finally:
                self.lock.release()
                self.active.clear()

    def _beat_while_held(self, name: str) -> None:
        service = Service(
            get_celery(self.registry), max_interval=_BEAT_TICK, scheduler_cls=StartupScheduler
        )
        beat = threading.Thread(target=service.start, name="benben-beat", daemon=True)
        beat.start()
        self.active.set()
        try:
            while not self.stopping.wait(self.interval):
                if not beat.is_alive():
                    log.error("scheduler: beat stopped unexpectedly; restarting it")
                    return
                if not self.lock.held():
                    log.warning("scheduler: lost lock %s; standing by", name)
                    return
        finally:
            service.stop()
            beat.join(_BEAT_TICK * 5)
