"""How the webhooks API shows its rows: times in UTC with a Z, as the rest of the API does."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from benben.plugin import as_utc, iso

from .models import Attempt, Delivery, Endpoint

__all__ = ["attempt_json", "delivery_json", "endpoint_json", "iso", "new_id", "utcnow"]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def endpoint_json(endpoint: Endpoint) -> dict[str, Any]:
    """An endpoint as the API shows it: never its secrets."""
    previous_until = endpoint.previous_secret_expires_at
    if endpoint.previous_secret is None or (
        previous_until is not None and as_utc(previous_until) <= utcnow()
    ):
        previous_until = None
    return {
        "id": endpoint.id,
        "owner": endpoint.owner_id,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "collections": list(endpoint.collections),
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": iso(endpoint.failing_since),
        "max_in_flight": endpoint.max_in_flight,
        "previous_secret_expires_at": iso(previous_until),
        "created_at": iso(endpoint.created_at),
        "updated_at": iso(endpoint.updated_at),
    }


def delivery_json(delivery: Delivery, tries: int, latency_ms: int | None) -> dict[str, Any]:
    """A delivery in the log: ``tries``, the attempts recorded; ``latency_ms``, the last one's."""
    is_event = (delivery.event_tx, delivery.event_id) != (0, 0)
    return {
        "id": delivery.id,
        "message_id": delivery.message_id,
        "event_type": delivery.event_type,
        "event": f"{delivery.event_tx}-{delivery.event_id}" if is_event else None,
        "status": delivery.status,
        "attempts": tries,
        "created_at": iso(delivery.created_at),
        "next_attempt_at": iso(delivery.next_attempt_at),
        "last_attempt_at": iso(delivery.last_attempt_at),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "latency_ms": latency_ms,
    }


def attempt_json(attempt: Attempt, body_limit: int) -> dict[str, Any]:
    body = attempt.response_body
    if body is not None and len(body) > body_limit:
        body = body[:body_limit]
    return {
        "attempted_at": iso(attempt.attempted_at),
        "succeeded": attempt.succeeded,
        "status_code": attempt.status_code,
        "latency_ms": attempt.latency_ms,
        "error": attempt.error,
        "response_body": body,
    }
