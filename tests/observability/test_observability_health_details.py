"""What /health/ready tells whom: everyone gets check names, statuses and reason codes; the
exception text (hosts, ports, database names, paths) goes to the log, and to administrators and
holders of the metrics token only."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import text

from benben.db import get_engine

HEALTH_LOGGER = "benben.observability.health"
METRICS_TOKEN = "m3tr1cs-t0ken-for-the-probe-tests"
DATABASE_NAME = "exposure_probe_db"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dead_database(backends, tmp_path: Path) -> tuple[dict[str, str], list[str], list[str]]:
    """Settings whose database cannot be reached; what must not be shown (the setup, the
    error's text); what the error says (so the log and the privileged callers have it)."""
    if backends.database == "postgresql":
        port = str(closed_port())
        url = f"postgresql://postgres@127.0.0.1:{port}/{DATABASE_NAME}"
        said = ["127.0.0.1", port, "Connection refused"]
        hidden = [*said, DATABASE_NAME, "postgres@"]
    else:
        unopenable = tmp_path / "hidden-place" / "benben.sqlite"
        unopenable.mkdir(parents=True)  # SQLite cannot open a directory
        url = f"sqlite:///{unopenable}"
        said = ["unable to open database file"]
        hidden = [*said, "hidden-place", str(tmp_path), "sqlite3"]
    settings = {
        "benben.database.url": url,
        "benben.database.auto_migrate": "false",
        "benben.database.connect_timeout": "1",
        "benben.metrics.token": METRICS_TOKEN,
    }
    return settings, hidden, said


def health_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str | None]]:
    return [(r.getMessage(), r.request_id) for r in caplog.records if r.name == HEALTH_LOGGER]


def test_an_unreachable_database_is_named_not_described(make_app, dead_database, caplog):
    settings, hidden, said = dead_database
    app = make_app(settings)
    response = app.get("/health/ready", headers={"X-Request-ID": "probe-db"}, status=503)
    body = response.json
    assert body["checks"]["database"] == {
        "status": "down",
        "reason": "unreachable",
        "duration_ms": body["checks"]["database"]["duration_ms"],
    }
    assert body["checks"]["migrations"]["reason"] == "unreachable"
    assert "Down: database (unreachable)" in body["detail"]
    for secret in [*hidden, "OperationalError", "connect", "Traceback"]:
        assert secret not in response.text
    # The operator finds the whole story in the log, under the probe's request id.
    lines = dict(health_lines(caplog))
    database_lines = [m for m in lines if m.startswith("readiness check database is down")]
    assert len(database_lines) == 1
    assert "OperationalError" in database_lines[0]
    assert all(words in database_lines[0] for words in said)
    assert lines[database_lines[0]] == "probe-db"


def test_the_metrics_token_shows_the_messages_even_while_the_database_is_down(
    make_app, dead_database
):
    settings, hidden, said = dead_database
    app = make_app(settings)
    body = app.get(
        "/health/ready", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, status=503
    ).json
    message = body["checks"]["database"]["message"]
    assert message.startswith("OperationalError: ")
    assert all(words in message for words in said)
    # The detail stays a list of reasons; a wrong token sees no message (and no 401 either:
    # probes answer whoever asks).
    assert "OperationalError" not in body["detail"]
    wrong = app.get("/health/ready", headers={"Authorization": "Bearer nope"}, status=503)
    assert "message" not in wrong.json["checks"]["database"]
    assert all(secret not in wrong.text for secret in hidden)


def failing_upstream(config) -> None:
    def upstream(request):
        raise ConnectionRefusedError("upstream at 10.9.8.7:6543 refused the connection")

    config.add_health_check("upstream", upstream)


def test_administrators_see_the_messages_other_users_do_not(make_app, create_user, auth_headers):
    app = make_app(include=failing_upstream)
    create_user("root", is_admin=True)
    create_user("alice")
    for headers in ({}, auth_headers(app, "alice"), {"Authorization": "Bearer not-a-token"}):
        response = app.get("/health/ready", headers=headers, status=503)
        assert response.json["checks"]["upstream"] == {
            "status": "down",
            "reason": "unreachable",
            "duration_ms": response.json["checks"]["upstream"]["duration_ms"],
        }
        assert "10.9.8.7" not in response.text
    admin = app.get("/health/ready", headers=auth_headers(app, "root"), status=503).json
    assert admin["checks"]["upstream"]["message"] == (
        "ConnectionRefusedError: upstream at 10.9.8.7:6543 refused the connection"
    )
    assert admin["detail"] == "Down: upstream (unreachable)"
    assert "message" not in admin["checks"]["database"]  # up: nothing to say


def test_reason_codes_tell_unreachable_from_broken(make_app):
    class ConnectionError(Exception):  # named as redis-py names its own (not an OSError)
        pass

    def redis_like(request):
        raise ConnectionError("Error 111 connecting to cache:6379")

    def missing_table(request):
        with get_engine(request.registry).connect() as connection:
            connection.execute(text("SELECT * FROM no_such_table_for_health"))

    def buggy(request):
        raise KeyError("oops")

    def include(config):
        config.add_health_check("redis_like", redis_like)
        config.add_health_check("missing_table", missing_table)
        config.add_health_check("buggy", buggy)

    checks = make_app(include=include).get("/health/ready", status=503).json["checks"]
    assert checks["redis_like"]["reason"] == "unreachable"
    assert checks["missing_table"]["reason"] == "error"  # reached: the statement failed
    assert checks["buggy"]["reason"] == "error"


def test_a_healthy_probe_never_looks_a_credential_up(app, monkeypatch):
    def must_not_be_asked(request):
        raise AssertionError("credentials looked up with nothing to hide")

    monkeypatch.setattr("benben.observability.health.may_see_details", must_not_be_asked)
    body = app.get("/health/ready", headers={"Authorization": "Bearer whoever"}).json
    assert body["status"] == "ok"
