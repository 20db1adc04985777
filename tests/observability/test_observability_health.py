"""/health/live touches nothing, /health/ready runs every check with a deadline (a failed
non-critical one, such as the cache, leaves the instance ready but degraded), /version."""

from __future__ import annotations

import socket
import threading

import pytest
from pyramid.exceptions import ConfigurationError

from benben.errors import PROBLEM_JSON
from benben.version import __version__

HEALTH_LOGGER = "benben.observability.health"


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
    assert body["checks"]["upstream"] == {"status": "down", "reason": "timeout"}
    assert body["checks"]["database"]["status"] == "up"
    assert body["detail"] == "Down: upstream (timeout)"

    # The next probe waits for the same hung call rather than starting another one.
    app.get("/health/ready", status=503)
    assert calls == [True]


def test_failing_checks_say_why_in_reason_codes_and_in_the_log(make_app, caplog):
    def raising(request):
        raise ConnectionError("upstream refused")

    def reporting(request):
        return "queue is 5000 deep"

    def include(config):
        config.add_health_check("raising", raising)
        config.add_health_check("reporting", reporting)

    response = make_app(include=include).get(
        "/health/ready", headers={"X-Request-ID": "probe-7"}, status=503
    )
    body = response.json
    assert body["checks"]["raising"]["reason"] == "unreachable"
    assert body["checks"]["reporting"]["reason"] == "failed"
    assert body["detail"] == "Down: raising (unreachable), reporting (failed)"
    assert "upstream refused" not in response.text
    assert "5000" not in response.text
    logged = {r.getMessage(): r.request_id for r in caplog.records if r.name == HEALTH_LOGGER}
    assert logged == {
        "readiness check raising is down (unreachable): ConnectionError: upstream refused": (
            "probe-7"
        ),
        "readiness check reporting is down (failed): queue is 5000 deep": "probe-7",
    }


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
    assert "python" not in body  # administrators only (tests/test_api.py)
    assert isinstance(body["plugins"], dict)


# -- non-critical checks: degraded, still ready ---------------------------------------------------
def test_a_failed_noncritical_check_leaves_the_instance_ready_and_degraded(make_app, hung):
    hung_check, _ = hung

    def failing(request):
        return "queue is 5000 deep"

    def include(config):
        config.add_health_check("queue", failing, critical=False)
        config.add_health_check("search", hung_check)  # critical, but named in the setting
        config.add_health_check("fine", lambda request: None, critical=False)

    app = make_app(
        {"benben.health.noncritical": "cache search", "benben.health.timeout": "0.1"},
        include=include,
    )
    response = app.get("/health/ready", status=200)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["status"] == "degraded"
    queue = body["checks"]["queue"]
    assert queue.pop("duration_ms") >= 0
    assert queue == {"status": "degraded", "critical": False, "reason": "failed"}
    assert body["checks"]["search"] == {
        "status": "degraded",
        "critical": False,
        "reason": "timeout",
    }
    assert body["checks"]["fine"]["status"] == "up"
    assert body["checks"]["fine"]["critical"] is False
    assert "critical" not in body["checks"]["database"]
    assert body["checks"]["cache"]["critical"] is False


def test_a_critical_failure_is_not_ready_and_names_the_degraded_too(make_app):
    def include(config):
        config.add_health_check("upstream", lambda request: "refused")
        config.add_health_check("queue", lambda request: "deep", critical=False)

    body = make_app(include=include).get("/health/ready", status=503).json
    assert body["detail"] == "Down: upstream (failed); degraded: queue (failed)"
    assert body["checks"]["upstream"]["status"] == "down"
    assert body["checks"]["queue"]["status"] == "degraded"


REDIS_DOWN = pytest.mark.parametrize(
    "backends", [("sqlite", "redis"), ("postgresql", "redis")], indirect=True
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@REDIS_DOWN
def test_a_redis_outage_degrades_readiness_while_the_data_api_serves(
    make_app, create_user, auth_headers
):
    # Nothing listens there: every Redis call fails (the cache, and the rate limits with it).
    app = make_app({"benben.cache.url": f"redis://127.0.0.1:{closed_port()}/0"})
    body = app.get("/health/ready", status=200).json
    assert body["status"] == "degraded"
    cache = body["checks"]["cache"]
    assert cache["status"] == "degraded"
    assert cache["critical"] is False
    assert cache["reason"] == "unreachable"
    assert "message" not in cache
    assert body["checks"]["database"]["status"] == "up"

    create_user("alice")
    auth = auth_headers(app, "alice")
    app.post_json("/api/v1/collections", {"id": "notes"}, headers=auth, status=201)
    record = "/api/v1/collections/notes/records/n1"
    for version in range(3):
        app.put_json(record, {"data": {"v": version}}, headers=auth)
        assert app.get(record, headers=auth).json["data"] == {"v": version}


@REDIS_DOWN
def test_an_operator_may_make_the_cache_critical(make_app):
    unreachable = f"redis://127.0.0.1:{closed_port()}/0"
    app = make_app({"benben.cache.url": unreachable, "benben.health.noncritical": ""})
    body = app.get("/health/ready", status=503).json
    assert body["checks"]["cache"]["status"] == "down"
    assert body["detail"] == "Down: cache (unreachable)"
