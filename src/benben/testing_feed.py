"""Waiting for the change feed in tests: :func:`feed_settled`, shared by ``benben.testing``
(Benben's own fixtures) and ``benben.pytest_plugin`` (``benben_settle``), neither of which the
other may import at module level."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["feed_settled"]


def feed_settled(registry: Any, *, timeout: float = 15.0) -> None:
    """Wait until every event committed so far can be read from the change feed.

    On PostgreSQL the feed hands out an event once every transaction older than its own has
    ended, anywhere on the server (docs/events.md): another test's open transaction holds it
    back a moment.  SQLite's events are readable at once.
    """
    from sqlalchemy import func, select, text

    from benben.db import get_engine
    from benben.events.models import EventRow

    engine = get_engine(registry)
    if engine.dialect.name != "postgresql":
        return
    horizon = text("SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint")
    deadline = time.monotonic() + timeout
    with engine.connect() as connection:
        newest = connection.scalar(select(func.max(EventRow.__table__.c.tx)))
        while newest is not None and connection.scalar(horizon) <= newest:
            if time.monotonic() > deadline:
                raise AssertionError(f"the feed did not settle within {timeout} s")
            time.sleep(0.01)
        connection.rollback()
