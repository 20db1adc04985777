"""benben.testing_backends: tests stay isolated while sharing what makes them cheap.

A test's database starts as a copy of one migrated once per session; these tests prove the copy
is what a migration makes, that a test's rows and cache keys never reach the next test, and that
a database a test already wrote is migrated, not replaced.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
import redis
from pyramid.scripting import prepare
from sqlalchemy import create_engine, inspect, text

from benben.cache import NO_VALUE
from benben.testing import Backends, SessionBackends
from benben.testing_auth import add_user

# What the first test of the pair left behind, by backend: the second looks for it.
LEFT_BEHIND: dict[str, dict[str, Any]] = {}


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def count_users(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM benben_users")).scalar_one()
    finally:
        engine.dispose()


def test_a_test_leaves_rows_and_cache_keys_behind(backends, app):
    add_user(app.app.registry, "left-behind")
    with prepare(registry=app.app.registry) as env:
        env["request"].cache.set("left-behind", "value")
    assert env["request"].cache.get("left-behind") == "value"
    assert count_users(backends.database_url()) == 1
    LEFT_BEHIND[backends.database] = {"prefix": backends.cache_prefix}


def test_the_next_test_sees_none_of_them(backends, app):
    # Its database is a copy of the session's template, which the previous test never wrote.
    assert count_users(backends.database_url()) == 0
    with prepare(registry=app.app.registry) as env:
        assert env["request"].cache.get("left-behind") is NO_VALUE
    earlier = LEFT_BEHIND.get(backends.database)
    if earlier is not None and backends.cache == "redis":
        client = redis.Redis.from_url(backends.settings()["benben.cache.url"])
        try:
            assert list(client.scan_iter(match=earlier["prefix"] + "*")) == []
        finally:
            client.close()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_copy_of_the_template_is_what_migrating_makes(database, tmp_path):
    from benben.config import configure

    shared = SessionBackends(tmp_path / "templates")
    (tmp_path / "templates").mkdir()
    described = []
    for name in ("migrated", "copied"):
        backends = Backends(database, "memory", tmp_path / name, shared)
        try:
            config = configure(backends.settings(), environ={})
            backends.track(config.registry)
            backends.migrate(config.registry)
            url = backends.database_url()
            engine = create_engine(url)
            try:
                with engine.connect() as connection:
                    epoch = connection.execute(text("SELECT id, value FROM benben_auth_epoch"))
                    versions = connection.execute(text("SELECT * FROM benben_version_core"))
                    described.append((table_names(url), epoch.all(), versions.all()))
            finally:
                engine.dispose()
        finally:
            backends.close()
    shared.close()
    migrated, copied = described
    assert "benben_users" in migrated[0]
    assert copied == migrated


def test_a_database_the_test_already_wrote_is_migrated_in_place(tmp_path):
    from benben.config import configure

    shared = SessionBackends(tmp_path)
    first = Backends("sqlite", "memory", tmp_path / "first", shared)
    second = Backends("sqlite", "memory", tmp_path / "second", shared)
    try:
        config = configure(first.settings(), environ={})
        first.track(config.registry)
        first.migrate(config.registry)  # the template exists from here on
        settings = second.settings()
        config = configure(settings, environ={})
        second.track(config.registry)
        with sqlite3.connect(second.sqlite_path()) as connection:
            connection.execute("CREATE TABLE mine (x INTEGER)")
        second.migrate(config.registry)
        assert {"mine", "benben_users"} <= table_names(second.database_url())
    finally:
        first.close()
        second.close()
        shared.close()


def test_boards_closed_in_the_background_are_closed_by_the_session_end(tmp_path):
    shared = SessionBackends(Path(tmp_path))
    release, closed = threading.Event(), threading.Event()

    class SlowBoard:
        def close(self) -> None:
            release.wait(5)
            closed.set()

    shared.close_later(SlowBoard())
    assert not closed.is_set()  # the test did not wait for it...
    release.set()
    shared.close()
    assert closed.is_set()  # ...the session did


def _build(backends: Backends) -> Any:
    from benben.config import configure

    config = configure(backends.settings(), environ={})
    backends.track(config.registry)
    backends.migrate(config.registry)
    return config.registry


def _execute(url: str, *statements: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            results = [connection.execute(text(statement)) for statement in statements]
            return [result.all() if result.returns_rows else [] for result in results]
    finally:
        engine.dispose()


def _no_migrations(*_: Any) -> None:
    raise AssertionError("migrated instead of taking the kept schema")


def test_a_kept_schema_comes_back_as_migrating_left_it(tmp_path, monkeypatch):
    """Rows (a large table and small ones), seed rows and sequences are put back."""
    shared = SessionBackends(tmp_path)
    first = Backends("postgresql", "memory", tmp_path / "first", shared)
    try:
        add_user(_build(first), "left-behind")
        _execute(
            first.database_url(),
            "INSERT INTO benben_revoked_access_tokens (jti, expires_at)"
            " SELECT g::text, now() FROM generate_series(1, 500) AS g",  # more than one page
            "UPDATE benben_auth_epoch SET value = 7",
            "SELECT nextval('benben_history_id_seq')",
        )
    finally:
        first.close()
    monkeypatch.setattr("benben.db.migrations.upgrade", _no_migrations)
    second = Backends("postgresql", "memory", tmp_path / "second", shared)
    try:
        _build(second)
        users, tokens, epoch, history_id = _execute(
            second.database_url(),
            "SELECT count(*) FROM benben_users",
            "SELECT count(*) FROM benben_revoked_access_tokens",
            "SELECT id, value FROM benben_auth_epoch",
            "SELECT nextval('benben_history_id_seq')",
        )
        assert (users, tokens, epoch, history_id) == ([(0,)], [(0,)], [(1, 0)], [(1,)])
    finally:
        second.close()
        shared.close()


def test_a_schema_a_test_changed_is_dropped_not_kept(tmp_path, monkeypatch):
    shared = SessionBackends(tmp_path)
    first = Backends("postgresql", "memory", tmp_path / "first", shared)
    try:
        _build(first)
        # As a collection's indexed field does: an index the migrations never made.
        _execute(first.database_url(), "CREATE INDEX mine ON benben_users (email)")
    finally:
        first.close()
    second = Backends("postgresql", "memory", tmp_path / "second", shared)
    try:
        _build(second)  # migrated afresh: nothing was kept
        mine = "SELECT indexname FROM pg_indexes WHERE indexname = 'mine'"
        indexes = _execute(second.database_url(), mine + " AND schemaname = current_schema()")
        assert indexes == [[]]
        monkeypatch.setattr("benben.db.migrations.upgrade", _no_migrations)
    finally:
        second.close()
    third = Backends("postgresql", "memory", tmp_path / "third", shared)
    try:
        _build(third)  # ...while an unchanged schema is kept (upgrade would fail now)
    finally:
        third.close()
        shared.close()


REVISION = """revision = "{revision}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    pass
"""


def test_heads_are_read_again_when_a_revision_is_added(tmp_path):
    from benben.db.migrations import MigrationSource
    from benben.testing_backends import HeadsCache, sources_key

    (tmp_path / "first.py").write_text(REVISION.format(revision="first", down=None))
    source = MigrationSource("mine", str(tmp_path), "mine_version")
    heads = HeadsCache()
    assert heads.heads(source) == ("first",)
    assert sources_key([source], heads) == sources_key([source])
    (tmp_path / "second.py").write_text(REVISION.format(revision="second", down="first"))
    assert heads.heads(source) == ("second",)
    assert sources_key([source], heads) == sources_key([source])
