"""A database that is down: 503 problem+json for requests that need it, readiness names it."""

from __future__ import annotations

import logging
import socket

import pytest
from sqlalchemy import text

from benben.db import get_engine
from benben.errors import PROBLEM_JSON


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unreachable_database(backends, tmp_path):
    """Settings pointing at a database that cannot be reached on this run's backend."""
    if backends.database == "postgresql":
        url = f"postgresql://postgres@127.0.0.1:{closed_port()}/test"
    else:
        unopenable = tmp_path / "a-directory.sqlite"  # SQLite cannot open a directory
        unopenable.mkdir()
        url = f"sqlite:///{unopenable}"
    return {"benben.database.url": url, "benben.database.auto_migrate": "false"}


def test_request_needing_the_database_is_503(items_app, unreachable_database, caplog):
    app = items_app(unreachable_database, create_table=False)
    response = app.get("/test/items", headers={"X-Request-ID": "db-down-1"}, status=503)
    assert response.content_type == PROBLEM_JSON
    assert response.headers["Retry-After"] == "1"
    body = response.json
    assert body["status"] == 503
    assert body["title"] == "Service Unavailable"
    assert body["request_id"] == "db-down-1"
    assert "Traceback" not in response.text
    errors = [r for r in caplog.records if r.name == "benben.db" and r.levelno == logging.ERROR]
    assert [r.request_id for r in errors] == ["db-down-1"]


def test_readiness_names_the_database_and_liveness_stays_up(make_app, unreachable_database):
    app = make_app(unreachable_database)
    assert app.get("/health/live").json == {"status": "ok"}
    response = app.get("/health/ready", status=503)
    assert response.content_type == PROBLEM_JSON
    body = response.json
    assert body["checks"]["database"]["status"] == "down"
    assert body["checks"]["cache"]["status"] == "up"
    assert "database" in body["detail"]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("backends", [("postgresql", "redis")], indirect=True)
def test_exhausted_connection_pool_is_503(items_app):
    def include(config):
        def greedy(request):
            request.dbsession.execute(text("SELECT 1"))  # holds the only pooled connection
            with get_engine(request.registry).connect():
                return {}

        config.add_route("test.greedy", "/test/greedy")
        config.add_view(greedy, route_name="test.greedy", renderer="json")

    pool = {"benben.database.pool_size": "1", "benben.database.max_overflow": "0",
            "benben.database.pool_timeout": "0.1"}  # fmt: skip
    app = items_app(pool, include=include)
    response = app.get("/test/greedy", status=503)
    assert response.content_type == PROBLEM_JSON
    assert response.headers["Retry-After"] == "1"
    assert app.get("/test/items").json == {"items": []}  # the connection went back to the pool
