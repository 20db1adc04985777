"""Redis down: requests are served from the database, the failure is logged once and counted,
readiness reports the cache degraded (and stays ready)."""

from __future__ import annotations

import logging
import socket

import pytest

from benben.cache import STATS_KEY

REDIS = pytest.mark.parametrize(
    "backends", [("sqlite", "redis"), ("postgresql", "redis")], indirect=True
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_down(**overrides):
    return {"benben.cache.url": f"redis://127.0.0.1:{closed_port()}/0", **overrides}


def cache_warnings(caplog):
    return [
        r for r in caplog.records
        if r.name == "benben.cache.resilience" and r.levelno == logging.WARNING
    ]  # fmt: skip


@REDIS
def test_requests_succeed_failures_logged_once_and_counted(notes_app, caplog):
    # Every call tries Redis again (no bypass window), one warning per hour at most.
    overrides = {"benben.cache.retry_interval": "0", "benben.cache.error_log_interval": "3600"}
    app = notes_app(redis_down(**overrides))
    app.put("/test/notes/greeting", {"value": "hello"})
    for _ in range(3):
        response = app.get("/test/notes/greeting")
        assert response.json == {"value": "hello", "from": "database"}

    stats = app.app.registry[STATS_KEY]
    assert stats.errors >= 4  # the invalidation and at least one call per read
    (warning,) = cache_warnings(caplog)
    assert "ConnectionError" in warning.getMessage()
    assert "serving from the database" in warning.getMessage()


@REDIS
def test_cache_is_bypassed_during_the_retry_interval(notes_app, caplog):
    app = notes_app(redis_down(**{"benben.cache.retry_interval": "3600"}))
    app.put("/test/notes/greeting", {"value": "hello"})
    stats = app.app.registry[STATS_KEY]
    errors = stats.errors
    assert errors >= 1
    assert app.get("/test/notes/greeting").json == {"value": "hello", "from": "database"}
    assert stats.errors == errors  # Redis is not even tried again
    assert stats.bypassed >= 1
    assert len(cache_warnings(caplog)) == 1


@REDIS
def test_readiness_reports_the_cache_degraded_but_stays_ready(make_app):
    # Requests are served from the database meanwhile: leaving the load balancer would turn a
    # slower service into no service.
    app = make_app(redis_down())
    body = app.get("/health/ready", status=200).json
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["status"] == "degraded"
    assert body["checks"]["cache"]["reason"] == "unreachable"
    assert body["checks"]["database"]["status"] == "up"
    assert app.get("/health/live").json == {"status": "ok"}
