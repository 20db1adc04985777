"""One scheduler per deployment: the second waits as a standby and takes over from the first."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from benben.testing import eventually
from benben.worker.scheduler import SchedulerRunner, StartupScheduler, scheduler_lock


def _settings() -> dict[str, Any]:
    # Advisory locks are per database, shared by every test's schema: a name of this test's own.
    return {
        "benben.worker.scheduler_lock": f"test-{uuid.uuid4().hex[:10]}",
        "benben.worker.scheduler_standby_seconds": "1",
    }


def _check(value: bool) -> None:
    assert value


def test_a_second_scheduler_stands_by_and_takes_over(make_app, caplog):
    settings = _settings()
    first_app = make_app(settings).app.registry
    second_app = make_app(settings).app.registry
    first = SchedulerRunner(first_app)
    second = SchedulerRunner(second_app)
    caplog.set_level(logging.INFO, "benben.worker.scheduler")
    first.start()
    try:
        eventually(lambda: _check(first.active.is_set()), timeout=10)
        second.start()
        eventually(lambda: _check("standby" in caplog.text), timeout=10)
        assert not second.active.is_set()
        first.stop()  # the holder goes away: the standby takes the lock
        eventually(lambda: _check(second.active.is_set()), timeout=10)
    finally:
        first.stop()
        second.stop()
    assert not second.active.is_set()


def test_the_lock_is_exclusive_and_released(make_app):
    registry = make_app(_settings()).app.registry
    one, two = scheduler_lock(registry), scheduler_lock(registry)
    try:
        assert one.acquire()
        assert one.held()
        assert not two.acquire()
        one.release()
        assert two.acquire()
    finally:
        one.release()
        two.release()


def test_a_scheduler_that_takes_over_sends_every_periodic_task_at_once(make_app):
    from benben.worker import get_celery

    app = get_celery(make_app().app.registry)
    scheduler = StartupScheduler(app=app, lazy=True)
    scheduler.setup_schedule()
    due = {name for name, entry in scheduler.schedule.items() if entry.is_due()[0]}
    assert due >= {"benben.events.prune", "benben.data.purge", "benben.security.cleanup_tokens"}
