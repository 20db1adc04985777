"""What attempts did, recorded: the delivery log, each delivery's new state, its endpoint's run
of failures, and disabling an endpoint that is gone or failed for too long.

A batch of attempts (those one claim sent together) is recorded in one transaction, in a few
statements whatever its size: the attempts inserted together, the deliveries read together and
written back in one flush, each endpoint touched once.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from .delivery import Claim
from .models import Attempt, Delivery, Endpoint, utcnow
from .schedule import next_attempt_at
from .sending import Outcome

__all__ = ["DISABLED_EVENT", "Publish", "Result", "disable_endpoint", "record_outcomes"]

DISABLED_EVENT = "webhook.disabled"

Publish = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Result:
    """One attempt: what was claimed, when it was sent, what came of it."""

    claim: Claim
    attempted_at: datetime.datetime
    outcome: Outcome


def record_outcomes(
    session: Session,
    results: Sequence[Result],
    *,
    disable_after: datetime.timedelta,
    publish: Publish | None = None,
    now: datetime.datetime | None = None,
) -> list[str]:
    """Record the attempts and update their deliveries and endpoints, in the caller's
    transaction; each delivery's new status ("gone" when it was deleted meanwhile)."""
    if not results:
        return []
    now = now or utcnow()
    session.execute(insert(Attempt.__table__), [_attempt_row(result) for result in results])
    ids = [result.claim.delivery_id for result in results]
    query = select(Delivery).where(Delivery.id.in_(ids)).execution_options(populate_existing=True)
    deliveries = {delivery.id: delivery for delivery in session.scalars(query)}
    statuses: list[str] = []
    succeeded: set[str] = set()
    failing: dict[str, datetime.datetime] = {}  # endpoint -> its first failure of the batch
    gone: set[str] = set()
    for result in results:
        delivery = deliveries.get(result.claim.delivery_id)
        if delivery is None:  # deleted with its endpoint meanwhile
            statuses.append("gone")
            continue
        statuses.append(_update(delivery, result, now))
        endpoint_id, outcome = result.claim.endpoint_id, result.outcome
        if outcome.succeeded:
            succeeded.add(endpoint_id)
        else:
            first = failing.get(endpoint_id)
            failing[endpoint_id] = min(first, result.attempted_at) if first else result.attempted_at
            if outcome.gone:
                gone.add(endpoint_id)
    session.flush()
    _endpoints_after(session, succeeded, failing, gone, disable_after, publish, now)
    return statuses


def _attempt_row(result: Result) -> dict[str, Any]:
    outcome = result.outcome
    return {
        "delivery_id": result.claim.delivery_id,
        "endpoint_id": result.claim.endpoint_id,
        "attempted_at": result.attempted_at,
        "succeeded": outcome.succeeded,
        "status_code": outcome.status_code,
        "latency_ms": outcome.latency_ms,
        "error": outcome.error,
        "response_body": outcome.response_body,
    }


def _update(delivery: Delivery, result: Result, now: datetime.datetime) -> str:
    """The delivery after this attempt; its new status."""
    outcome = result.outcome
    delivery.attempts += 1
    delivery.last_attempt_at = result.attempted_at
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    if _same_moment(delivery.locked_until, result.claim.lease):
        delivery.locked_until = None  # ours: released (else another worker holds it now)
    if delivery.status != "pending":
        return str(delivery.status)  # finished meanwhile (a duplicate send), or disabled
    if outcome.succeeded:
        delivery.status = "succeeded"
        return "succeeded"
    upcoming = None
    if not outcome.gone:
        upcoming = next_attempt_at(delivery.attempts, now, retry_after=outcome.retry_after)
    if upcoming is None:
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = upcoming
    return str(delivery.status)


def _endpoints_after(
    session: Session,
    succeeded: set[str],
    failing: dict[str, datetime.datetime],
    gone: set[str],
    disable_after: datetime.timedelta,
    publish: Publish | None,
    now: datetime.datetime,
) -> None:
    """A success ends an endpoint's run of failures; a failure starts one (or goes on with it),
    and disables the endpoint once it lasted ``disable_after``; a 410 disables it at once."""
    table = Endpoint.__table__
    if succeeded:
        session.execute(
            update(table)
            .where(table.c.id.in_(sorted(succeeded)), table.c.failing_since.is_not(None))
            .values(failing_since=None)
        )
    for endpoint_id, first in sorted(failing.items()):
        if endpoint_id in succeeded and endpoint_id not in gone:
            continue  # it answers: some of its deliveries failed, the receiver did not
        session.execute(
            update(table)
            .where(table.c.id == endpoint_id, table.c.failing_since.is_(None))
            .values(failing_since=first)
        )
        endpoint = session.get(Endpoint, endpoint_id, populate_existing=True)
        if endpoint is None or not endpoint.enabled:
            continue
        since = endpoint.failing_since
        if endpoint_id in gone:
            disable_endpoint(session, endpoint, "the receiver answered 410 Gone", publish)
        elif since is not None and now - _aware(since) >= disable_after:
            hours = disable_after.total_seconds() / 3600
            reason = f"failing since {_aware(since).isoformat()} (over {hours:g} hours)"
            disable_endpoint(session, endpoint, reason, publish)


def disable_endpoint(
    session: Session, endpoint: Endpoint, reason: str, publish: Publish | None = None
) -> int:
    """Disable ``endpoint`` (Benben's doing: ``disabled_reason``), fail its pending deliveries,
    and publish ``webhook.disabled``; the number of deliveries failed."""
    endpoints, deliveries = Endpoint.__table__, Delivery.__table__
    changed = session.execute(
        update(endpoints)
        .where(endpoints.c.id == endpoint.id, endpoints.c.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason[:500], updated_at=utcnow())
    ).rowcount
    if not changed:
        return 0  # another worker did
    failed = session.execute(
        update(deliveries)
        .where(deliveries.c.endpoint_id == endpoint.id, deliveries.c.status == "pending")
        .values(status="failed", last_error="the endpoint was disabled", locked_until=None)
    ).rowcount
    about = {"id": endpoint.id, "owner_id": endpoint.owner_id, "url": endpoint.url}
    session.expire(endpoint)
    if publish is not None:
        publish(DISABLED_EVENT, {"endpoint": about, "reason": reason, "failed_deliveries": failed})
    return int(failed)


def _aware(moment: datetime.datetime) -> datetime.datetime:
    # SQLite gives naive datetimes back; they were stored as UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


def _same_moment(a: datetime.datetime | None, b: datetime.datetime) -> bool:
    return a is not None and abs((_aware(a) - _aware(b)).total_seconds()) < 0.001
