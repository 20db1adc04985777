"""The SQLAlchemy engine from settings: SQLite tuned for a web server, PostgreSQL via psycopg 3."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from pyramid.exceptions import ConfigurationError
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError

from benben.files import create_private_file, private_directory, tighten_file

URL_SETTING = "benben.database.url"
READ_URL_SETTING = "benben.database.read_url"


def database_url(settings: Mapping[str, Any], setting: str = URL_SETTING) -> URL:
    """The URL of ``setting``; an empty ``benben.database.url`` means the embedded SQLite file
    in the data directory."""
    raw = settings.get(setting) or ""
    if not raw:
        data_dir = settings.get("benben.data_dir") or "./var"
        return make_url("sqlite:///" + os.path.join(os.path.abspath(data_dir), "benben.sqlite"))
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigurationError(
            f"invalid value for setting {setting}: not a database URL "
            "(examples: sqlite:///var/benben.sqlite, postgresql://user@host/db)"
        ) from None
    if url.drivername in {"postgresql", "postgres", "postgresql+psycopg2"}:
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigurationError(
            f"invalid value for setting {setting}: backend {url.get_backend_name()!r} "
            "is not supported (accepted: sqlite, postgresql)"
        )
    return url


def create_engine_from_settings(
    settings: Mapping[str, Any], setting: str = URL_SETTING, application_name: str = "benben"
) -> Engine:
    """The engine of ``setting``'s URL (the primary's, or the read replica's), pooled as the
    ``benben.database.*`` settings say. ``application_name`` (what pg_stat_activity shows) is
    used unless the URL sets its own."""
    url = database_url(settings, setting)
    echo = bool(settings.get("benben.database.echo", False))
    timeout = int(settings.get("benben.database.connect_timeout", 5))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo=echo, timeout=timeout)
    connect_args: dict[str, Any] = {"connect_timeout": timeout}
    if "application_name" not in url.query:
        connect_args["application_name"] = application_name
    try:
        engine = create_engine(
            url,
            echo=echo,
            pool_size=int(settings.get("benben.database.pool_size", 10)),
            max_overflow=int(settings.get("benben.database.max_overflow", 10)),
            pool_timeout=float(settings.get("benben.database.pool_timeout", 10.0)),
            pool_recycle=3600,
            connect_args=connect_args,
        )
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f"{setting} names PostgreSQL but its driver is missing ({exc.name}): "
            "pip install 'benben[postgresql]'"
        ) from None
    _ping_after_idle(engine)
    return engine


# A pooled connection idle this long is pinged before use (a restarted server, a firewall that
# dropped it); one used more recently is not: pinging every checkout cost a round trip per
# request.  A recently used connection found dead fails its first statement, and that request
# is replayed on a fresh one (see benben.db.database_error_view).
PING_AFTER_IDLE_SECONDS = 5.0


def _ping_after_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["benben.idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("benben.idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out another (or connects anew).
            raise DisconnectionError(f"pooled connection found dead: {exc}") from exc


# Execution option marking a session that will write; only SQLite acts on it (see _begin).
WRITER_OPTION = "benben_writer"


# SQLite's companions of a database file: the same data, so the same protection.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def _private_sqlite_file(database: str) -> None:
    """The database file created 0600 (its directory 0700) before SQLite opens it: SQLite would
    create it 0644 under the usual umask.  Its -wal/-shm/-journal files are then created with the
    database's mode by SQLite itself; older ones left more open are tightened (benben.files)."""
    path = os.path.abspath(database)
    private_directory(os.path.dirname(path), owned_names=(os.path.basename(path),))
    create_private_file(path)
    for suffix in SQLITE_COMPANIONS:
        tighten_file(path + suffix)


def _sqlite_engine(url: URL, *, echo: bool, timeout: int) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        _private_sqlite_file(database)
    engine = create_engine(url, echo=echo, connect_args={"timeout": timeout})

    @event.listens_for(engine, "connect")
    def _tune(dbapi_connection: Any, _record: Any) -> None:
        # The sqlite3 module's own transaction handling defers BEGIN past our first SELECT and
        # breaks SAVEPOINTs; SQLAlchemy documents taking over: no implicit handling, our own BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={timeout * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # A writer takes the write lock up front (BEGIN IMMEDIATE), so concurrent writers queue
        # on busy_timeout. A deferred BEGIN would let two writers read, then fail the second at
        # its first write (SQLITE_BUSY_SNAPSHOT) with no wait at all.
        if connection.get_execution_options().get(WRITER_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine
