"""The change feed's tables: the events, and where each durable consumer has read up to.

An event row is written in the transaction of the change it describes (a rollback leaves none).
Its position in the feed is ``(tx, id)``: ``id`` an auto-increment, ``tx`` the writing
transaction's id on PostgreSQL (``pg_current_xact_id()``, filled in by the database) and 0 on
SQLite, whose single writer makes ``id`` order commit order.  See :mod:`benben.events.feed` for
why the pair, and how a reader never misses an event that commits after a higher ``id``.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    String,
    func,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Mapped, mapped_column

from benben.db.meta import Base
from benben.timestamps import utcnow

__all__ = ["TX_DEFAULT_POSTGRESQL", "EventRow", "FeedConsumer"]

# An auto-increment 64-bit key on PostgreSQL; SQLite only auto-increments INTEGER PRIMARY KEY.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

# The writing transaction's id as a bigint (xid8 has no direct cast): PostgreSQL 13+.
TX_DEFAULT_POSTGRESQL = "(pg_current_xact_id()::text)::bigint"


class EventRow(Base):
    __tablename__ = "benben_events"
    __table_args__ = (
        Index("ix_benben_events_position", "tx", "id"),
        Index("ix_benben_events_occurred", "occurred_at"),
        # SQLite: AUTOINCREMENT, so a pruned maximum id is never handed out again.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    # Set by the database (the migration's server default): never written by Benben.
    # Archives keep 0 (backup_constant): an xid means nothing to another database, and a
    # restored feed is ordered by id before every new transaction's events.
    tx: Mapped[int] = mapped_column(
        BigInteger, server_default=text("0"), info={"backup_constant": 0}
    )
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[int] = mapped_column(BigInteger)  # epoch milliseconds
    actor: Mapped[str | None] = mapped_column(String(36), nullable=True)  # a user id
    collection_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    record_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The change's version (a collection's or record's last_modified), when it has one.
    last_modified: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


def _archived_cursor(consumers: Any) -> Any:
    """A consumer's cursor as archives keep it (see ``backup_expression``): just before the
    first event it has not read.  Archived events are ordered by id alone (their tx is 0): on
    PostgreSQL two overlapping transactions can put an unread event below the cursor's id; this
    way none is skipped after a restore (a few read ones may come again: delivery is at least
    once anyway)."""
    events = EventRow.__table__
    after = tuple_(events.c.tx, events.c.id) > tuple_(consumers.c.tx, consumers.c.event_id)
    first_unread = select(func.min(events.c.id)).where(after).scalar_subquery()
    last = select(func.max(events.c.id)).scalar_subquery()
    return func.coalesce(first_unread - 1, last, consumers.c.event_id)


class FeedConsumer(Base):
    """A durable consumer's cursor: the feed keeps what it has not read (up to a point, see
    ``benben.events.consumer_expiry_hours``).  The row ``_pruned`` records how far retention
    has deleted, so that a reader behind it learns of the gap instead of skipping silently."""

    __tablename__ = "benben_feed_consumers"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    tx: Mapped[int] = mapped_column(BigInteger, default=0, info={"backup_constant": 0})
    event_id: Mapped[int] = mapped_column(
        BigInteger, default=0, info={"backup_expression": _archived_cursor}
    )
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
