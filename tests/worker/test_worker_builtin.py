"""Core's periodic sweeps do their job, and a second run finds nothing left."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import func, insert, select

from benben.db import session_factory
from benben.security.models import RevokedAccessToken
from benben.testing import run_periodic_tasks, run_queued_tasks
from benben.worker import enqueue_task
from benben.worker.builtin import HOUR_MS, TaskContext, cleanup_tokens, prune_feed, purge_data


def _count(registry: Any, table: Any) -> int:
    with session_factory(registry)() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_token_cleanup_deletes_only_expired_rows(app, registry):
    now = datetime.datetime.now(datetime.UTC)
    ctx = TaskContext(registry, "benben.security.cleanup_tokens")
    with ctx.transaction() as request:
        request.dbsession.execute(
            insert(RevokedAccessToken),
            [
                {"jti": "old", "expires_at": now - datetime.timedelta(minutes=1)},
                {"jti": "new", "expires_at": now + datetime.timedelta(hours=1)},
            ],
        )
    enqueue_task(registry, "benben.security.cleanup_tokens")
    assert run_queued_tasks(registry) == 1
    with session_factory(registry)() as session:
        assert set(session.scalars(select(RevokedAccessToken.jti))) == {"new"}
    assert cleanup_tokens(ctx) == {"refresh_tokens": 0, "revoked": 0}


def test_feed_prune_deletes_events_past_retention(make_app):
    from benben.events.models import EventRow

    registry = make_app({"benben.events.retention_hours": "1"}).app.registry
    ctx = TaskContext(registry, "benben.events.prune")
    old = 1_000  # epoch milliseconds: long past any retention
    with ctx.transaction() as request:
        request.dbsession.execute(
            insert(EventRow.__table__),
            [
                {"type": "record.created", "occurred_at": old},
                {"type": "record.created", "occurred_at": old + HOUR_MS},
            ],
        )
    before = _count(registry, EventRow.__table__)
    assert before >= 2
    assert prune_feed(ctx) == 2
    assert _count(registry, EventRow.__table__) == before - 2
    assert prune_feed(ctx) == 0  # idempotent


def test_data_purge_runs_like_benben_data_purge(make_app):
    registry = make_app({"benben.data.history_retention_days": "1"}).app.registry
    ctx = TaskContext(registry, "benben.data.purge")
    assert purge_data(ctx) == {"tombstones": 0, "history": 0}


def test_every_periodic_task_runs_on_an_empty_instance(registry):
    assert run_periodic_tasks(registry, "benben.data.purge") == 1
    assert run_periodic_tasks(registry) >= 3  # core's and the enabled plugins' sweeps
