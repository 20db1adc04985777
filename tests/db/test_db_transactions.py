"""One session per request, committed or aborted with the request's transaction; retries."""

from __future__ import annotations

import sqlite3

import pytest
from db_items import items, stored_names
from sqlalchemy import event, insert, text

from benben.db import get_engine
from benben.db.engine import create_engine_from_settings
from benben.errors import PROBLEM_JSON

POSTGRESQL = pytest.mark.parametrize("backends", [("postgresql", "redis")], indirect=True)
SQLITE = pytest.mark.parametrize("backends", [("sqlite", "memory")], indirect=True)


def test_successful_request_commits(items_app):
    app = items_app()
    assert app.post("/test/items", {"name": "kept"}).json == {"added": "kept"}
    assert stored_names(app.app.registry) == ["kept"]
    assert app.get("/test/items").json == {"items": ["kept"]}


def test_view_raising_after_writing_leaves_nothing_written(items_app):
    app = items_app()
    response = app.post("/test/items", {"name": "lost", "then": "fail"}, status=500)
    assert response.content_type == PROBLEM_JSON
    assert stored_names(app.app.registry) == []


def test_each_request_has_its_own_session(items_app):
    seen = []

    def include(config):
        def view(request):
            seen.append(request.dbsession)
            assert request.dbsession is request.dbsession  # one per request
            return {}

        config.add_route("test.session", "/test/session")
        config.add_view(view, route_name="test.session", renderer="json")

    app = items_app(include=include)
    app.get("/test/session")
    app.get("/test/session")
    assert len(seen) == 2
    assert seen[0] is not seen[1]


def failing_first_attempts(failures, fail, *, before_writing=False):
    """A view that writes, and fails with ``fail(request)`` (after writing, unless
    ``before_writing``) on its first ``failures`` attempts."""
    attempts = []

    def include(config):
        def view(request):
            attempts.append(request.environ["retry.attempt"])
            failing = len(attempts) <= failures
            if failing and before_writing:
                fail(request)
            request.dbsession.execute(insert(items).values(name=f"attempt {len(attempts)}"))
            request.dbsession.flush()
            if failing:
                fail(request)
            return {"attempts": len(attempts)}

        config.add_route("test.retried", "/test/retried")
        config.add_view(view, route_name="test.retried", request_method="POST", renderer="json")

    return attempts, include


def raise_sqlstate(code):
    def fail(request):
        # A genuine server-side error: psycopg raises it just as it would a real conflict.
        statement = f"DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '{code}'; END $$"
        request.dbsession.execute(text(statement))

    return fail


@POSTGRESQL
@pytest.mark.parametrize("sqlstate", ["40001", "40P01"], ids=["serialization", "deadlock"])
def test_postgresql_conflict_is_retried(items_app, sqlstate):
    attempts, include = failing_first_attempts(1, raise_sqlstate(sqlstate))
    app = items_app(include=include)
    response = app.post("/test/retried", headers={"X-Request-ID": "retry-1"})
    assert response.json == {"attempts": 2}
    assert attempts == [0, 1]
    assert response.headers["X-Request-ID"] == "retry-1"
    # The first attempt's write was rolled back with it.
    assert stored_names(app.app.registry) == ["attempt 2"]


@POSTGRESQL
def test_postgresql_conflict_on_every_attempt_is_503(items_app):
    attempts, include = failing_first_attempts(99, raise_sqlstate("40001"))
    app = items_app({"benben.database.retry_attempts": "2"}, include=include)
    response = app.post("/test/retried", status=503)
    assert attempts == [0, 1]
    assert response.content_type == PROBLEM_JSON
    assert response.headers["Retry-After"] == "1"
    assert response.json["status"] == 503
    assert stored_names(app.app.registry) == []


def hold_write_lock(request):
    """Another connection holds SQLite's write lock: our write fails with 'database is locked'."""
    path = request.dbsession.get_bind().url.database
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        # Fail at once rather than after the configured busy timeout.
        request.dbsession.connection().exec_driver_sql("PRAGMA busy_timeout=0")
        request.dbsession.execute(insert(items).values(name="blocked"))
        request.dbsession.flush()
    finally:
        blocker.rollback()
        blocker.close()


@SQLITE
def test_sqlite_locked_database_is_retried(items_app):
    attempts, include = failing_first_attempts(1, hold_write_lock, before_writing=True)
    app = items_app(include=include)
    assert app.post("/test/retried").json == {"attempts": 2}
    assert attempts == [0, 1]
    assert stored_names(app.app.registry) == ["attempt 2"]


@SQLITE
def test_sqlite_mistake_in_sql_is_a_500_not_retried(items_app):
    attempts, include = failing_first_attempts(
        1, lambda request: request.dbsession.execute(text("SELECT * FROM no_such_table"))
    )
    app = items_app(include=include)
    response = app.post("/test/retried", status=500)
    assert attempts == [0]
    assert response.content_type == PROBLEM_JSON
    assert "no_such_table" not in response.text


@POSTGRESQL
def test_postgresql_conflict_at_commit_is_retried(items_app):
    attempts, include = failing_first_attempts(0, lambda request: None)
    app = items_app(include=include)
    with get_engine(app.app.registry).begin() as connection:
        # Fails the first attempt's COMMIT, as a serialization failure found at commit does.
        connection.execute(text("""
            CREATE FUNCTION refuse_first() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.name = 'attempt 1' THEN
                    RAISE EXCEPTION 'conflict at commit' USING ERRCODE = '40001';
                END IF;
                RETURN NEW;
            END $$;
            CREATE CONSTRAINT TRIGGER refuse_first AFTER INSERT ON test_items
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_first();
        """))  # fmt: skip
    assert app.post("/test/retried").json == {"attempts": 2}
    assert attempts == [0, 1]
    assert stored_names(app.app.registry) == ["attempt 2"]


@POSTGRESQL
def test_a_request_meeting_a_dropped_connection_is_replayed_on_a_fresh_one(
    items_app, backends, caplog
):
    app = items_app()
    engine = get_engine(app.app.registry)
    engine.dispose()
    pids = set()
    event.listen(engine, "connect", lambda dbapi, _record: pids.add(dbapi.info.backend_pid))
    app.post("/test/items", {"name": "first"})  # pools a connection, used a moment ago
    assert pids
    killer = create_engine_from_settings({"benben.database.url": backends.database_url()})
    try:
        with killer.begin() as connection:
            for pid in pids:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        killer.dispose()
    # The dead connection fails the first statement (nothing committed): replayed, not a 503.
    assert app.post("/test/items", {"name": "second"}).json == {"added": "second"}
    assert stored_names(app.app.registry) == ["first", "second"]
    assert "database connection lost (the request will be replayed)" in caplog.text
