"""What the worker's tests share: a task that writes a row, and reading the rows back."""

from __future__ import annotations

import datetime
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
