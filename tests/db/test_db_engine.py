"""The engine from settings: SQLite tuned (WAL, foreign keys), PostgreSQL via psycopg 3."""

from __future__ import annotations

import pytest
from pyramid.exceptions import ConfigurationError
from sqlalchemy import text

from benben.db import get_engine
from benben.db.engine import create_engine_from_settings, database_url

SQLITE = pytest.mark.parametrize("backends", [("sqlite", "memory")], indirect=True)
POSTGRESQL = pytest.mark.parametrize("backends", [("postgresql", "redis")], indirect=True)


def test_empty_url_is_the_embedded_sqlite_file_in_the_data_dir(tmp_path):
    url = database_url({"benben.database.url": "", "benben.data_dir": str(tmp_path / "data")})
    assert url.get_backend_name() == "sqlite"
    assert url.database == str(tmp_path / "data" / "benben.sqlite")


@pytest.mark.parametrize(
    "raw", ["postgresql://u@db/x", "postgres://u@db/x", "postgresql+psycopg2://u@db/x"]
)
def test_postgresql_urls_use_psycopg_3(raw):
    assert database_url({"benben.database.url": raw}).drivername == "postgresql+psycopg"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not a url", "not a database URL"),
        ("mysql://u@db/x", "backend 'mysql' is not supported (accepted: sqlite, postgresql)"),
    ],
)
def test_unsupported_urls_fail_start_up(raw, message):
    with pytest.raises(ConfigurationError, match=r"benben\.database\.url") as raised:
        database_url({"benben.database.url": raw})
    assert message in str(raised.value)


@SQLITE
def test_sqlite_connections_use_wal_and_foreign_keys(registry):
    with get_engine(registry).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


@SQLITE
def test_sqlite_enforces_foreign_keys(registry):
    with get_engine(registry).connect() as connection:
        connection.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        connection.execute(text("CREATE TABLE child (parent_id INTEGER REFERENCES parent(id))"))
        with pytest.raises(Exception, match="FOREIGN KEY constraint failed"):
            connection.execute(text("INSERT INTO child VALUES (42)"))


@POSTGRESQL
def test_postgresql_engine_uses_psycopg_with_pool_settings(backends):
    engine = create_engine_from_settings(
        {
            "benben.database.url": backends.database_url().replace("+psycopg", ""),
            "benben.database.pool_size": 3,
            "benben.database.max_overflow": 2,
            "benben.database.pool_timeout": 4.5,
        }
    )
    try:
        assert engine.dialect.driver == "psycopg"
        assert engine.pool.size() == 3
        assert engine.pool._max_overflow == 2
        assert engine.pool._timeout == 4.5
        with engine.connect() as connection:
            name = connection.execute(text("SELECT current_setting('application_name')"))
            assert name.scalar() == "benben"
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def backend_pid(engine):
    with engine.connect() as connection:
        return connection.connection.dbapi_connection.info.backend_pid


def terminate(engine, pid):
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        connection.commit()


@POSTGRESQL
def test_a_connection_idle_past_the_ping_threshold_is_checked_and_replaced(backends, monkeypatch):
    engine = create_engine_from_settings(
        {"benben.database.url": backends.database_url(), "benben.database.pool_size": 1,
         "benben.database.max_overflow": 0}
    )  # fmt: skip
    killer = create_engine_from_settings({"benben.database.url": backends.database_url()})
    try:
        dead = backend_pid(engine)
        terminate(killer, dead)
        monkeypatch.setattr("benben.db.engine.PING_AFTER_IDLE_SECONDS", 0.0)
        # Pinged at checkout, found dead, replaced: the caller never sees the dead one.
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
        assert backend_pid(engine) != dead
    finally:
        engine.dispose()
        killer.dispose()


@POSTGRESQL
def test_only_connections_idle_past_the_threshold_are_pinged(backends, monkeypatch):
    engine = create_engine_from_settings({"benben.database.url": backends.database_url()})
    pings = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda dbapi: pings.append(1) or ping(dbapi))
    try:
        for _ in range(3):  # each checkout reuses the connection returned a moment ago
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        assert pings == []  # a round trip per request saved
        monkeypatch.setattr("benben.db.engine.PING_AFTER_IDLE_SECONDS", 0.0)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert pings == [1]
    finally:
        engine.dispose()
