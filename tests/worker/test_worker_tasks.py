"""The task API: add_task, add_periodic_task, enqueue_task (after commit only), TaskContext."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pyramid.exceptions import ConfigurationError, ConfigurationExecutionError
from worker_support import WRITE_TASK, include_write_task, written

from benben.plugin import TaskContext, enqueue_task
from benben.testing import run_queued_tasks
from benben.worker import get_celery


@pytest.fixture
def task_app(make_app: Any) -> Any:
    def include(config: Any) -> None:
        include_write_task(config, queue="tests")
        config.add_periodic_task(WRITE_TASK, 30, args=("tick",))
        config.add_route("enqueue", "/test/enqueue/{jti}")

        def view(request: Any) -> Any:
            enqueue_task(request, WRITE_TASK, request.matchdict["jti"])
            if request.params.get("fail"):
                raise RuntimeError("abort the transaction")
            return {"ok": True}

        config.add_view(view, route_name="enqueue", renderer="json")

    return make_app(include=include)


def test_add_task_registers_a_celery_task_on_its_queue(task_app):
    app = get_celery(task_app.app.registry)
    assert WRITE_TASK in app.tasks
    (route,) = [router(WRITE_TASK, (), {}, {}) for router in app.conf.task_routes]
    assert route["queue"].endswith(".tests")  # the embedded app's own prefix
    assert route["queue"] in {queue.name for queue in app.conf.task_queues}
    schedule = app.conf.beat_schedule[WRITE_TASK]
    assert schedule == {"task": WRITE_TASK, "schedule": 30.0, "args": ("tick",), "kwargs": {}}
    # core's sweeps are scheduled from their settings
    assert app.conf.beat_schedule["benben.events.prune"]["schedule"] == 3600.0
    assert {"benben.data.purge", "benben.security.cleanup_tokens"} <= set(app.conf.beat_schedule)


def test_a_task_enqueued_by_a_request_runs_after_its_commit(task_app):
    registry = task_app.app.registry
    task_app.post("/test/enqueue/committed")
    assert run_queued_tasks(registry) == 1
    assert written(registry) == {"committed"}


def test_a_task_enqueued_by_an_aborted_request_is_never_sent(task_app):
    registry = task_app.app.registry
    task_app.post("/test/enqueue/aborted?fail=1", status=500)
    assert run_queued_tasks(registry) == 0
    assert written(registry) == set()


def test_task_context_transactions_commit_or_abort(task_app):
    registry = task_app.app.registry
    ctx = TaskContext(registry, "manual")
    assert ctx.settings["benben.worker.embedded"] == "auto"
    with ctx.transaction() as request:
        enqueue_task(request, WRITE_TASK, "from-a-task")

    def aborted() -> None:
        with ctx.transaction() as request:
            enqueue_task(request, WRITE_TASK, "never")
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        aborted()
    assert run_queued_tasks(registry) == 1
    assert written(registry) == {"from-a-task"}


def test_enqueue_from_a_registry_sends_at_once_and_apps_do_not_share_queues(task_app, make_app):
    registry = task_app.app.registry
    other = make_app(include=include_write_task).app.registry
    enqueue_task(registry, WRITE_TASK, "first")
    enqueue_task(other, WRITE_TASK, "other")
    assert run_queued_tasks(registry) == 1
    assert written(registry) == {"first"}
    assert run_queued_tasks(other) == 1


def test_an_unknown_task_is_refused_at_once(task_app):
    with pytest.raises(LookupError, match="no task 'nope'"):
        enqueue_task(task_app.app.registry, "nope")


def test_a_broker_outage_after_commit_is_logged_not_raised(make_app, caplog):
    app = make_app(
        {"benben.worker.broker_url": "redis://127.0.0.1:1/0"},  # nothing listens on port 1
        include=lambda config: (
            include_write_task(config),
            config.add_route("enqueue", "/test/enqueue"),
            config.add_view(
                lambda request: enqueue_task(request, WRITE_TASK, "x") or {},
                route_name="enqueue",
                renderer="json",
            ),
        ),
    )
    get_celery(app.app.registry).conf.broker_connection_timeout = 0.5
    with caplog.at_level(logging.WARNING, "benben.worker.tasks"):
        app.post("/test/enqueue", status=200)
    assert "task tests.write not sent" in caplog.text
    metrics = app.get("/metrics", extra_environ={"REMOTE_ADDR": "127.0.0.1"}).text
    assert 'benben_task_enqueue_failures_total{task="tests.write"} 1.0' in metrics


def test_periodic_task_of_an_undeclared_task_is_refused(make_app):
    with pytest.raises(ConfigurationExecutionError, match="no task 'nope'"):
        make_app(include=lambda config: config.add_periodic_task("nope", 5))


@pytest.mark.parametrize("name", ["", " padded", 3])
def test_bad_task_names_are_refused(make_app, name):
    with pytest.raises(ConfigurationError, match="invalid task name"):
        make_app(include=lambda config: config.add_task(name, lambda ctx: None))


def test_a_task_declared_twice_conflicts(make_app):
    def twice(config: Any) -> None:
        include_write_task(config)
        include_write_task(config)

    with pytest.raises(ConfigurationError):
        make_app(include=twice)
