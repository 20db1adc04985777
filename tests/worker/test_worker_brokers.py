"""A real Celery worker consuming from Redis and from RabbitMQ runs a task that writes to the
database (each broker on both database backends); the embedded worker thread needs no broker."""

from __future__ import annotations

from typing import Any

import pytest
from worker_support import WRITE_TASK, broker_for, include_write_task, written

from benben.testing import eventually
from benben.worker import enqueue_task, get_celery
from benben.worker.embedded import EmbeddedWorker, start_embedded, stop_embedded


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_a_worker_on_a_broker_runs_a_task_that_writes(make_app, broker):
    with broker_for(broker) as (url, prefix):
        settings = {"benben.worker.broker_url": url, "benben.worker.queue_prefix": prefix}
        registry = make_app(settings, include=include_write_task).app.registry
        app = get_celery(registry)
        assert app.conf.task_acks_late
        assert app.conf.task_reject_on_worker_lost
        assert app.conf.task_default_queue == f"{prefix}benben"
        enqueue_task(registry, WRITE_TASK, f"via-{broker}")  # before the worker: it waits
        worker = EmbeddedWorker(registry)
        worker.start(schedule=False)
        try:
            eventually(lambda: _assert_written(registry, {f"via-{broker}"}), timeout=10)
        finally:
            worker.stop()
        get_celery(registry).close()


def _assert_written(registry: Any, expected: set[str]) -> None:
    assert written(registry) == expected


def test_the_embedded_worker_thread_runs_a_task_with_no_broker(make_app):
    registry = make_app(include=include_write_task).app.registry
    assert get_celery(registry).conf.broker_url == "memory://"
    worker = start_embedded(registry)
    assert worker is not None
    try:
        assert start_embedded(registry) is worker  # once per app
        enqueue_task(registry, WRITE_TASK, "embedded")
        eventually(lambda: _assert_written(registry, {"embedded"}), timeout=10)
        assert worker.scheduler is not None
        eventually(lambda: _assert_true(worker.scheduler.active.is_set()), timeout=10)
    finally:
        stop_embedded(registry)
    assert not worker.thread.is_alive()


def _assert_true(value: bool) -> None:
    assert value


def test_embedded_off_with_a_broker(make_app):
    registry = make_app({"benben.worker.broker_url": "redis://127.0.0.1:1/0"}).app.registry
    assert start_embedded(registry) is None
