"""What the worker's tests share: a task that writes a row, and reading the rows back."""

from __future__ import annotations

import contextlib
import datetime
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from benben.db import session_factory
from benben.security.models import RevokedAccessToken
from benben.worker import TaskContext

WRITE_TASK = "tests.write"


def write_row(ctx: TaskContext, jti: str) -> str:
    """The test task: one row, in its own transaction (a revoked token's jti: a simple table)."""
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    with ctx.transaction() as request:
        request.dbsession.add(RevokedAccessToken(jti=jti, expires_at=expires))
    return jti


def include_write_task(config: Any, queue: str | None = None) -> None:
    config.add_task(WRITE_TASK, write_row, queue=queue)


def written(registry: Any) -> set[str]:
    with session_factory(registry)() as session:
        return set(session.scalars(select(RevokedAccessToken.jti)))


@contextmanager
def broker_for(kind: str) -> Iterator[tuple[str, str]]:
    """(broker URL, a queue prefix of this test's own): queues on the shared test brokers are
    removed afterwards."""
    from benben.testing import require_rabbitmq, require_redis

    url = require_redis() if kind == "redis" else require_rabbitmq()
    prefix = f"test-{uuid.uuid4().hex[:10]}."
    try:
        yield url, prefix
    finally:
        _remove_queues(kind, url, prefix)


def _remove_queues(kind: str, url: str, prefix: str) -> None:
    if kind == "redis":
        import redis

        client = redis.Redis.from_url(url)
        try:
            keys = list(client.scan_iter(match=f"*{prefix}*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
        return
    import kombu

    with kombu.Connection(url) as connection:
        for name in ("benben", "tests", "webhooks"):
            channel = connection.channel()
            with contextlib.suppress(Exception):
                channel.queue_delete(f"{prefix}{name}")
            with contextlib.suppress(Exception):
                channel.close()
