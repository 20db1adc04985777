"""Deliveries in the database: claiming the due ones, and recording what an attempt did.

A worker *claims* due deliveries (pending, ``next_attempt_at`` past, no live lease) in a short
transaction by setting ``locked_until`` (its lease: now + twice the timeout + a margin), sends
them with no transaction open, then records each attempt in another.  A worker killed while
sending leaves its leases to expire; the deliveries are then claimed and sent again (at least
once: the receiver dedupes on ``webhook-id``).

Claims respect each endpoint's ``max_in_flight`` (its live leases counted): the endpoint's row is
locked while its deliveries are claimed (PostgreSQL ``FOR UPDATE SKIP LOCKED``: another worker
claims for other endpoints meanwhile; SQLite has a single writer), so two workers never exceed
it together.  Before a claim is sent, the endpoint's owner must still be allowed to read what
the event is about (``user_may_read``); a delivery they may not is ``skipped``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from benben.plugin import user_may_read

from .models import Delivery, Endpoint, utcnow
from .signing import headers as signed_headers
from .signing import secrets_in_force

__all__ = [
    "LEASE_MARGIN",
    "Claim",
    "body_of",
    "check_claims",
    "claim_due",
    "may_deliver",
    "pending_count",
]

# A lease outlasts an attempt (the timeout, and as much again for resolving the name and a busy
# worker) by this margin, in which its outcome is recorded; a dead worker's claims are then
# sent again this long after they were made.
LEASE_MARGIN = datetime.timedelta(seconds=5)
ENDPOINTS_PER_CLAIM = 100
# Events about no collection that go to any endpoint's owner who may see the account side:
# administrators only.  The plugin's own events about an endpoint also go to its owner.
OWN_EVENTS = ("webhook.",)


@dataclass(frozen=True)
class Claim:
    """A claimed delivery: everything needed to send it with no transaction open."""

    delivery_id: str
    endpoint_id: str
    url: str
    message_id: str
    body: bytes
    secrets: list[str]
    lease: datetime.datetime
    attempts: int  # made before this one
    owner_id: str = ""
    event_type: str = ""
    test_event: bool = False  # the API's "send a test event", about no change
    payload: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def headers(self, now: datetime.datetime | None = None) -> dict[str, str]:
        """The Standard Webhooks headers of an attempt made ``now``."""
        return signed_headers(self.secrets, self.message_id, now or utcnow(), self.body)


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _due(now: datetime.datetime) -> Any:
    return (
        (Delivery.status == "pending")
        & (Delivery.next_attempt_at <= now)
        & or_(Delivery.locked_until.is_(None), Delivery.locked_until < now)
    )


def claim_due(
    session: Session,
    *,
    timeout: float,
    limit: int = 16,
    endpoint_id: str | None = None,
    now: datetime.datetime | None = None,
) -> list[Claim]:
    """Claim up to ``limit`` due deliveries (``endpoint_id``: of that endpoint only), oldest
    due first, within each endpoint's ``max_in_flight``.  In the caller's transaction, which
    must commit before :func:`check_claims` and the sending."""
    now = now or utcnow()
    postgresql = session.get_bind().dialect.name == "postgresql"
    candidates: Select[Any] = (
        select(Delivery.endpoint_id)
        .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
        .where(_due(now), Endpoint.enabled.is_(True))
        .group_by(Delivery.endpoint_id)
        .order_by(func.min(Delivery.next_attempt_at))
        .limit(ENDPOINTS_PER_CLAIM)
    )
    if endpoint_id is not None:
        candidates = candidates.where(Delivery.endpoint_id == endpoint_id)
    ids = list(session.scalars(candidates))
    if not ids:
        return []
    locking = select(Endpoint).where(Endpoint.id.in_(ids), Endpoint.enabled.is_(True))
    if postgresql:
        locking = locking.with_for_update(skip_locked=True)
    endpoints = {
        e.id: e for e in session.scalars(locking.execution_options(populate_existing=True))
    }
    live = dict(
        session.execute(
            select(Delivery.endpoint_id, func.count())
            .where(
                Delivery.endpoint_id.in_(list(endpoints)),
                Delivery.status == "pending",
                Delivery.locked_until >= now,
            )
            .group_by(Delivery.endpoint_id)
        ).all()
    )
    lease = now + datetime.timedelta(seconds=2 * timeout) + LEASE_MARGIN
    claims: list[Claim] = []
    for candidate in ids:
        endpoint = endpoints.get(candidate)
        free = 0 if endpoint is None else endpoint.max_in_flight - live.get(candidate, 0)
        if endpoint is None or free <= 0:
            continue
        for delivery in _due_of(session, endpoint.id, now, min(free, limit - len(claims))):
            delivery.locked_until = lease
            claims.append(_claim(endpoint, delivery, lease, now))
        if len(claims) >= limit:
            break
    session.flush()
    return claims


def _due_of(session: Session, endpoint_id: str, now: datetime.datetime, count: int) -> list[Any]:
    if count <= 0:
        return []
    query = (
        select(Delivery)
        .where(Delivery.endpoint_id == endpoint_id, _due(now))
        .order_by(Delivery.next_attempt_at, Delivery.event_tx, Delivery.event_id)
        .limit(count)
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _claim(
    endpoint: Endpoint, delivery: Delivery, lease: datetime.datetime, now: datetime.datetime
) -> Claim:
    return Claim(
        delivery_id=delivery.id,
        endpoint_id=endpoint.id,
        url=endpoint.url,
        message_id=delivery.message_id,
        body=body_of(delivery.payload),
        secrets=secrets_in_force(endpoint, now),
        lease=lease,
        attempts=delivery.attempts,
        owner_id=endpoint.owner_id,
        event_type=delivery.event_type,
        test_event=(delivery.event_tx, delivery.event_id) == (0, 0),
        payload=dict(delivery.payload or {}),
    )


def check_claims(session: Session, claims: Sequence[Claim]) -> list[Claim]:
    """The claims whose endpoint's owner may, now, read what their event is about; the others
    are marked skipped (their lease released).  In a transaction of its own after the claim's,
    so that the endpoints are locked only while their deliveries are leased."""
    allowed: list[Claim] = []
    skipped: list[Claim] = []
    for claim in claims:
        (allowed if may_deliver(session, claim) else skipped).append(claim)
    if skipped:
        table = Delivery.__table__
        session.execute(
            update(table)
            .where(table.c.id.in_([claim.delivery_id for claim in skipped]))
            .where(table.c.status == "pending")
            .values(
                status="skipped",
                locked_until=None,
                last_error="the endpoint's owner may not read what the event is about",
            )
        )
    return allowed


def may_deliver(session: Session, claim: Claim) -> bool:
    """Whether the endpoint's owner may, now, read what the claimed delivery's event is about."""
    owner, kind = claim.owner_id, claim.event_type
    data: dict[str, Any] = claim.payload.get("data") or {}
    if claim.test_event:
        return True  # about the endpoint itself, asked for by its owner
    collection = data.get("collection")
    if isinstance(collection, str):
        record = data.get("id") if kind.startswith("record.") else None
        former = None
        if kind == "collection.deleted":
            # Gone: judged by its last grants and its creator, as the event recorded them.
            former = {**(data.get("previous") or {}), "created_by": data.get("created_by")}
        return user_may_read(session, owner, collection, record, former=former)
    if kind.startswith(OWN_EVENTS) and (data.get("endpoint") or {}).get("owner_id") == owner:
        return True
    return _is_admin(session, owner)


def _is_admin(session: Session, user_id: str) -> bool:
    # Asked through the public API: a collection with no grants (and no creator) is readable by
    # the administrator role alone.
    return user_may_read(session, user_id, "", former={"permissions": {}, "created_by": None})


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


def pending_count(session: Session, endpoint_ids: Sequence[str] | None = None) -> int:
    """Deliveries still pending (of these endpoints): for tests and the benchmark."""
    query = select(func.count()).select_from(Delivery).where(Delivery.status == "pending")
    if endpoint_ids is not None:
        query = query.where(Delivery.endpoint_id.in_(list(endpoint_ids)))
    return int(session.scalar(query) or 0)
