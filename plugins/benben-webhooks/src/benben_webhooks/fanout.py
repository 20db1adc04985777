"""Fan-out: the change feed's events turned into deliveries, each exactly once.

The durable consumer ``webhooks`` holds the feed position up to which events were fanned out.
One transaction reads the next batch of events after it, creates one :class:`Delivery` per
enabled endpoint that subscribes to the event (its type patterns, its collections), and moves
the position past the batch: both commit together or not at all.  The consumer's row is locked
for the transaction (PostgreSQL ``FOR UPDATE``; SQLite's single writer), so several workers
fanning out at once take turns, and an event is never fanned out twice nor skipped.

An endpoint gets the events that occurred (``occurred_at``) once it was created, not those
from before, which a fan-out running late, or a consumer new to the feed, still reads.

Events lost to feed retention before they were fanned out (the workers were down for longer
than ``benben.events.retention_hours``) are logged and marked by a ``webhook.feed_gap`` event
(visible in ``GET /api/v1/events``, delivered to administrators' endpoints); fan-out goes on
from the oldest event kept.
"""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from benben.plugin import (
    START,
    Event,
    FeedGapError,
    FeedPosition,
    Request,
    advance_consumer,
    consumer_position,
    latest_position,
    publish_event,
    read_events,
)

from .models import Delivery, Endpoint, utcnow

__all__ = [
    "BATCH",
    "CONSUMER",
    "FEED_GAP_EVENT",
    "FanOut",
    "ensure_consumer",
    "fan_out_batch",
    "matches",
    "message_id",
    "payload_for",
    "thin_payload",
]

log = logging.getLogger(__name__)

CONSUMER = "webhooks"  # the feed consumer's name
BATCH = 500  # events per transaction
FEED_GAP_EVENT = "webhook.feed_gap"


@dataclass(frozen=True)
class FanOut:
    """What one batch did: events read, deliveries created, and whether more may be waiting."""

    events: int
    deliveries: int
    more: bool
    position: FeedPosition


def ensure_consumer(session: Session) -> FeedPosition:
    """Register the consumer at the feed's latest position if it is not yet (else a first
    fan-out reads the whole feed kept, from its start): the endpoint-creating transaction may
    call it.  Locks the consumer's row until the transaction ends."""
    return consumer_position(session, CONSUMER)


def message_id(event: Event) -> str:
    """The ``webhook-id`` of an event's deliveries: the same for every endpoint and attempt."""
    return f"msg_{event.position}"


def matches(endpoint: Endpoint, event: Event) -> bool:
    """Whether ``endpoint`` subscribes to ``event`` (types, collections, creation time)."""
    if not any(_type_matches(pattern, event.type) for pattern in endpoint.event_types or ()):
        return False
    if endpoint.collections and event.collection_id not in endpoint.collections:
        return False
    return event.occurred_at >= int(_aware(endpoint.created_at).timestamp() * 1000)


def _type_matches(pattern: str, event_type: str) -> bool:
    # benben.events' rule (type_matches is not exported to plugins): "*", "area.*", exact.
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def thin_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload too big to send, cut to what identifies its event (the receiver reads the rest
    from the API)."""
    data = payload.get("data") or {}
    kept = {key: data[key] for key in ("collection", "id", "last_modified") if key in data}
    return {**{k: v for k, v in payload.items() if k != "data"}, "data": kept, "truncated": True}


def payload_for(event: Event, max_bytes: int) -> dict[str, Any]:
    """The body an event's deliveries send: its payload, or a thin one above ``max_bytes``."""
    payload = event.payload()
    size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    return thin_payload(payload) if size > max_bytes else payload


def fan_out_batch(request: Request, *, max_payload_bytes: int, batch: int = BATCH) -> FanOut:
    """One batch, in ``request``'s transaction (the caller commits): read events after the
    consumer's position, create their deliveries, advance the position."""
    session: Session = request.dbsession
    # A consumer registered now starts at the feed's start: endpoints may exist already (created
    # before any fan-out ran), and matches() drops the events from before each one's creation.
    position = consumer_position(session, CONSUMER, start=START)
    try:
        events = read_events(session, position, limit=batch)
    except FeedGapError as gap:
        log.error("webhooks: %s; fan-out resumes at %s", gap, gap.resume_at)
        publish_event(
            request,
            FEED_GAP_EVENT,
            {"after": str(gap.position), "resumed_at": str(gap.resume_at), "consumer": CONSUMER},
        )
        advance_consumer(session, CONSUMER, gap.resume_at)
        return FanOut(0, 0, True, gap.resume_at)
    # Endpoints read after the events: one created meanwhile committed after every event of
    # this batch, so it misses none of the events it should get (they are in later batches).
    endpoints = _enabled_endpoints(session) if events else []
    if events and not endpoints:
        # Nobody subscribes: skip to the feed's end, not batch after batch.  The end is read
        # before the endpoints are read again, so one created meanwhile misses nothing.
        latest = max(latest_position(session), events[-1].position or position)
        endpoints = _enabled_endpoints(session)
        if not endpoints:
            advance_consumer(session, CONSUMER, latest)
            return FanOut(len(events), 0, False, latest)
    rows = _deliveries(events, endpoints, max_payload_bytes)
    if rows:
        session.execute(insert(Delivery.__table__), rows)
    if events:
        position = events[-1].position or position
    advance_consumer(session, CONSUMER, position)  # also when unchanged: the consumer is alive
    return FanOut(len(events), len(rows), len(events) >= batch, position)


def _enabled_endpoints(session: Session) -> list[Endpoint]:
    return list(
        session.scalars(
            select(Endpoint).where(Endpoint.enabled.is_(True)).order_by(Endpoint.created_at)
        )
    )


def _deliveries(
    events: Sequence[Event], endpoints: Sequence[Endpoint], max_payload_bytes: int
) -> list[dict[str, Any]]:
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for event in events:
        targets = [endpoint for endpoint in endpoints if matches(endpoint, event)]
        if not targets or event.position is None:
            continue
        payload = payload_for(event, max_payload_bytes)
        for endpoint in targets:
            rows.append(
                {
                    "id": str(uuid.uuid4()),
                    "endpoint_id": endpoint.id,
                    "message_id": message_id(event),
                    "event_type": event.type,
                    "event_tx": event.position.tx,
                    "event_id": event.position.id,
                    "payload": payload,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "locked_until": None,
                    "created_at": now,
                }
            )
    return rows


def _aware(moment: datetime.datetime) -> datetime.datetime:
    # SQLite gives naive datetimes back; they were stored as UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)
