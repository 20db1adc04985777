"""The webhooks plugin's tables: endpoints (subscriptions), deliveries (one per endpoint and
event, the unit of at-least-once delivery) and their attempts (the delivery log).

A delivery row is created by the fan-out, in the transaction that advances the fan-out's feed
cursor, so an event is turned into deliveries exactly once; a worker then *claims* a due
delivery (``status`` pending, ``next_attempt_at`` past, no live lease) by setting
``locked_until``, sends it, and records the attempt.  A worker killed mid-send leaves the lease
to expire: the delivery is sent again (the receiver dedupes on ``webhook-id``, the delivery's
``message_id``).
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from benben.plugin import Base

__all__ = ["Attempt", "Delivery", "Endpoint", "utcnow"]

_BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Endpoint(Base):
    """A subscription: where to send which events, signed with which secrets."""

    __tablename__ = "webhooks_endpoints"
    __table_args__ = (Index("ix_webhooks_endpoints_owner", "owner_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The user who created it: deliveries are checked against what they may read *now*.
    owner_id: Mapped[str] = mapped_column(String(36))
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(500), default="")
    # Event type patterns ("record.created", "record.*", "*") and collection ids (empty: all).
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    collections: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Why the endpoint was disabled by Benben ("failing since ..."), None when by its owner.
    disabled_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # whsec_<base64>: the current signing secret, and the previous one while both sign.
    secret: Mapped[str] = mapped_column(String(200))
    previous_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    previous_secret_expires_at: Mapped[datetime.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    # Deliveries to this endpoint in flight at once, at most.
    max_in_flight: Mapped[int] = mapped_column(Integer, default=4)
    # The first failure of the current run of failures (None after a success).
    failing_since: Mapped[datetime.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Delivery(Base):
    """One event for one endpoint.  ``status``: pending (to send, or to retry at
    ``next_attempt_at``), succeeded, failed (retries exhausted, or the endpoint disabled), skipped
    (the owner may no longer read what the event is about)."""

    __tablename__ = "webhooks_deliveries"
    __table_args__ = (
        Index("ix_webhooks_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhooks_deliveries_endpoint", "endpoint_id", "event_tx", "event_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("webhooks_endpoints.id", ondelete="CASCADE")
    )
    # webhook-id: the same on every attempt and on manual redelivery (receivers dedupe on it).
    message_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    # The event's feed position (tx, id); (0, 0) for a test event.  Archives keep tx 0, as
    # they do the feed's (backup_constant): the restored deliveries name their events' positions.
    event_tx: Mapped[int] = mapped_column(BigInteger, default=0, info={"backup_constant": 0})
    event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    # The JSON body sent: the event's payload as fanned out (the feed may be pruned since).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    # A worker's claim: until then, no other worker sends it.
    locked_until: Mapped[datetime.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_attempt_at: Mapped[datetime.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Attempt(Base):
    """One try at sending a delivery: the delivery log."""

    __tablename__ = "webhooks_attempts"
    __table_args__ = (Index("ix_webhooks_attempts_delivery", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("webhooks_deliveries.id", ondelete="CASCADE")
    )
    endpoint_id: Mapped[str] = mapped_column(String(36))
    attempted_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The start of the response body (benben.webhooks.response_log_bytes).
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
