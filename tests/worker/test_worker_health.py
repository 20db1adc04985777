"""A worker's health server: live, ready (broker and database), Prometheus metrics."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from worker_support import WRITE_TASK, include_write_task

from benben.testing import run_queued_tasks
from benben.worker import enqueue_task
from benben.worker.health import HealthServer


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def served(make_app: Any) -> Any:
    servers: list[HealthServer] = []

    def serve(settings: dict[str, Any] | None = None) -> HealthServer:
        registry = make_app(settings, include=include_write_task).app.registry
        server = HealthServer(registry, "127.0.0.1", 0)
        server.start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


def test_live_ready_and_metrics(served):
    server = served()
    assert _get(server.port, "/health/live") == (200, '{"status": "ok"}')
    status, body = _get(server.port, "/health/ready")
    assert status == 200
    assert json.loads(body) == {"status": "ok", "checks": {"broker": "ok", "database": "ok"}}
    enqueue_task(server.registry, WRITE_TASK, "measured")
    enqueue_task(server.registry, WRITE_TASK, "waiting")
    status, metrics = _get(server.port, "/metrics")
    assert status == 200
    assert "benben_task_queue_depth{queue=" in metrics
    depths = [line for line in metrics.splitlines() if line.startswith("benben_task_queue_depth")]
    assert any(line.endswith(" 2.0") for line in depths), depths
    assert run_queued_tasks(server.registry) == 2
    metrics = _get(server.port, "/metrics")[1]
    assert 'benben_task_duration_seconds_count{task="tests.write"} 2.0' in metrics
    assert _get(server.port, "/nothing")[0] == 404


def test_feed_lag_per_durable_consumer(served):
    from benben.events.event import START
    from benben.events.feed import advance_consumer, consumer_position, publish
    from benben.worker import TaskContext

    server = served()
    ctx = TaskContext(server.registry, "test")
    with ctx.transaction() as request:
        consumer_position(request.dbsession, "test-consumer", start=START)
        advance_consumer(request.dbsession, "test-consumer", START)
    with ctx.transaction() as request:
        publish(request, "collection.created", {"id": "c"}, collection_id="c")
    metrics = _get(server.port, "/metrics")[1]
    lags = [line for line in metrics.splitlines() if 'consumer="test-consumer"' in line]
    assert lags
    assert float(lags[0].rsplit(" ", 1)[1]) >= 1


def test_not_ready_without_its_broker(served):
    server = served({"benben.worker.broker_url": "redis://127.0.0.1:1/0"})
    status, body = _get(server.port, "/health/ready")
    assert status == 503
    assert json.loads(body)["checks"] == {"broker": "unavailable", "database": "ok"}


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_queue_depth_on_a_broker(make_app, broker):
    from worker_support import broker_for

    from benben.worker import get_celery
    from benben.worker.health import queue_depths

    with broker_for(broker) as (url, prefix):
        settings = {"benben.worker.broker_url": url, "benben.worker.queue_prefix": prefix}
        registry = make_app(settings, include=include_write_task).app.registry
        if broker == "redis":
            assert queue_depths(registry)[f"{prefix}benben"] == 0  # empty: no key in Redis
        enqueue_task(registry, WRITE_TASK, "one")
        enqueue_task(registry, WRITE_TASK, "two")
        assert queue_depths(registry)[f"{prefix}benben"] == 2
        get_celery(registry).close()
