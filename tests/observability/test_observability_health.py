"""/health/live touches nothing, /health/ready runs every check with a deadline, /version."""

from __future__ import annotations

import platform
import threading

import pytest
from pyramid.exceptions import ConfigurationError

from benben.errors import PROBLEM_JSON
from benben.version import __version__


def test_ready_when_everything_is_up(app):
    response = app.get("/health/ready")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["status"] == "ok"
    assert set(body["checks"]) >= {"database", "cache", "migrations"}
    for name in ("database", "cache", "migrations"):
        assert body["checks"][name]["status"] == "up"
        assert body["checks"][name]["duration_ms"] >= 0


def test_live_runs_no_check(make_app):
    calls = []

    def counted(request):
        calls.append(True)

    app = make_app(include=lambda config: config.add_health_check("counted", counted))
    assert app.get("/health/live").json == {"status": "ok"}
    assert calls == []
    app.get("/health/ready")
    assert calls == [True]


@pytest.fixture
def hung():
    release = threading.Event()
    calls = []

    def check(request):
        calls.append(True)
        release.wait(30)  # set by the fixture's teardown

    yield check, calls
    release.set()


def test_a_hung_check_is_down_without_hanging_the_probe(make_app, hung):
    check, calls = hung
    app = make_app(
        {"benben.health.timeout": "0.1"},
        include=lambda config: config.add_health_check("upstream", check),
    )
    response = app.get("/health/ready", status=503)
    assert response.content_type == PROBLEM_JSON
    body = response.json
    assert body["title"] == "Not ready"
    assert body["checks"]["upstream"] == {"status": "down", "message": "no answer within 0.1s"}
    assert body["checks"]["database"]["status"] == "up"
    assert body["detail"] == "Down: upstream (no answer within 0.1s)"

    # The next probe waits for the same hung call rather than starting another one.
    app.get("/health/ready", status=503)
    assert calls == [True]


def test_failing_checks_say_why(make_app):
    def raising(request):
        raise ConnectionError("upstream refused")

    def reporting(request):
        return "queue is 5000 deep"

    def include(config):
        config.add_health_check("raising", raising)
        config.add_health_check("reporting", reporting)

    body = make_app(include=include).get("/health/ready", status=503).json
    assert body["checks"]["raising"]["message"] == "ConnectionError: upstream refused"
    assert body["checks"]["reporting"]["message"] == "queue is 5000 deep"
    assert body["detail"].startswith("Down: raising (ConnectionError: upstream refused)")


def test_health_check_directive_takes_dotted_names_and_refuses_nonsense(make_app):
    app = make_app(
        include=lambda config: config.add_health_check("db-again", "benben.db.check_database")
    )
    assert app.get("/health/ready").json["checks"]["db-again"]["status"] == "up"
    for nonsense in ("benben.no_such_module.check", 42):
        with pytest.raises(ConfigurationError, match="needs a name and a callable"):
            make_app(include=lambda config, check=nonsense: config.add_health_check("x", check))


def test_version(app):
    body = app.get("/version").json
    assert body["version"] == __version__
    assert body["python"] == platform.python_version()
    assert isinstance(body["plugins"], dict)
