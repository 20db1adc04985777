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
