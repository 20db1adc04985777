"""Delivery: events fanned out once per subscribed endpoint, sent signed, retried on the published
schedule, endpoints disabled, and nothing sent that the owner may no longer read."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

import pytest
import webtest
from sqlalchemy import select, update
from webhooks_delivery_support import (
    Receiver,
    deliveries_of,
    fan_out,
    include_delivery,
    send_due,
    wait_until,
)
from webhooks_support import People, session_of

from benben.events.feed import read_events
from benben.plugin import START
from benben_webhooks.delivery import claim_due
from benben_webhooks.fanout import CONSUMER
from benben_webhooks.models import Attempt, Delivery, Endpoint, utcnow
from benben_webhooks.schedule import JITTER, RETRY_SCHEDULE

COLLECTIONS = "/api/v1/collections"
NOTES = ["notes"]


@pytest.fixture
def app(make_app: Callable[..., webtest.TestApp]) -> webtest.TestApp:
    return make_app(include=include_delivery)


def hook(app: Any, headers: dict[str, str], url: str, **fields: Any) -> dict[str, Any]:
    body = {"url": url, **fields}
    return app.post_json("/api/v1/webhooks", body, headers=headers, status=201).json


def notes(app: Any, headers: dict[str, str], cid: str = "notes", **body: Any) -> None:
    app.put_json(f"{COLLECTIONS}/{cid}", body, headers=headers, status=201)


def write(app: Any, headers: dict[str, str], cid: str, rid: str, **data: Any) -> None:
    app.put_json(f"{COLLECTIONS}/{cid}/records/{rid}", {"data": data}, headers=headers)


def test_events_are_fanned_out_once_to_the_endpoints_subscribing(app, who: People):
    registry = app.app.registry
    notes(app, who.alice)
    notes(app, who.alice, "other")
    every = hook(app, who.alice, "http://127.0.0.1:9/all", event_types=["record.*"],
                 collections=["notes", "other"])  # fmt: skip
    only = hook(app, who.alice, "http://127.0.0.1:9/notes", event_types=["record.created"],
                collections=["notes"])  # fmt: skip
    write(app, who.alice, "notes", "n1", n=1)
    write(app, who.alice, "notes", "n1", n=2)
    write(app, who.alice, "other", "o1", n=3)
    assert fan_out(registry, expect=4) == 4
    assert fan_out(registry) == 0  # the cursor moved past them: never twice
    rows = deliveries_of(registry, every["id"])
    assert [row.event_type for row in rows] == ["record.created", "record.updated"] * 1 + [
        "record.created"
    ]
    assert [row.event_type for row in deliveries_of(registry, only["id"])] == ["record.created"]
    first = rows[0]
    assert first.status == "pending"
    assert first.attempts == 0
    assert first.message_id == f"msg_{first.event_tx}-{first.event_id}"
    assert first.payload["type"] == "record.created"
    assert first.payload["data"]["collection"] == "notes"
    assert first.payload["data"]["id"] == "n1"
    with session_of(registry) as session:
        (event,) = read_events(session, START, limit=1000, types=["record.created"])[:1]
        assert first.payload == {**event.payload()}


def test_a_delivery_is_signed_and_recorded(app, who: People):
    registry = app.app.registry
    with Receiver() as receiver:
        notes(app, who.alice)
        endpoint = hook(app, who.alice, receiver.url, event_types=["record.*"], collections=NOTES)
        receiver.secrets = [endpoint["secret"]]
        write(app, who.alice, "notes", "n1", n=1)
        fan_out(registry, expect=1)
        assert send_due(registry) == 1
        (got,) = receiver.received
        assert got.verified  # the standardwebhooks library accepts it
        assert got.json["type"] == "record.created"
        assert got.json["data"]["data"] == {"n": 1}
    (row,) = deliveries_of(registry, endpoint["id"])
    assert (row.status, row.attempts, row.last_status_code, row.locked_until) == (
        "succeeded", 1, 204, None,
    )  # fmt: skip
    assert got.message_id == row.message_id
    with session_of(registry) as session:
        (attempt,) = session.scalars(select(Attempt).where(Attempt.delivery_id == row.id))
        assert attempt.succeeded
        assert attempt.status_code == 204
        assert attempt.latency_ms >= 0
    log = app.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=who.alice).json
    assert [item["status"] for item in log["data"]] == ["succeeded"]


def test_failures_are_retried_on_the_schedule_honouring_retry_after(app, who: People):
    registry = app.app.registry
    answer = (503, {"Retry-After": "3600"}, b"down for maintenance " * 500)
    with Receiver(answer=answer) as receiver:
        notes(app, who.alice)
        endpoint = hook(app, who.alice, receiver.url, event_types=["record.*"], collections=NOTES)
        write(app, who.alice, "notes", "n1")
        fan_out(registry, expect=1)
        before = utcnow()
        assert send_due(registry) == 1
        assert send_due(registry) == 0  # not due again yet
    (row,) = deliveries_of(registry, endpoint["id"])
    assert row.status == "pending"
    assert row.attempts == 1
    assert row.last_status_code == 503
    wait = _aware(row.next_attempt_at) - before
    assert datetime.timedelta(seconds=3599) <= wait <= datetime.timedelta(seconds=3700)
    with session_of(registry) as session:
        (attempt,) = session.scalars(select(Attempt))
        assert attempt.response_body == ("down for maintenance " * 500)[:2048]
    # Without Retry-After: the schedule's next slot, with jitter.
    with Receiver(answer=(500, {}, b"")) as receiver:
        _move(registry, endpoint["id"], url=receiver.url)
        _make_due(registry, row.id)
        before = utcnow()
        send_due(registry)
    (row,) = deliveries_of(registry, endpoint["id"])
    wait = (_aware(row.next_attempt_at) - before).total_seconds()
    slot = RETRY_SCHEDULE[2]
    assert row.attempts == 2
    assert slot * (1 - JITTER) - 1 <= wait <= slot * (1 + JITTER) + 1


def test_the_last_failure_fails_the_delivery_and_a_3xx_is_a_failure(app, who: People):
    registry = app.app.registry
    with Receiver(answer=(301, {"Location": "https://elsewhere.example/"}, b"")) as receiver:
        notes(app, who.alice)
        endpoint = hook(app, who.alice, receiver.url, event_types=["record.*"], collections=NOTES)
        write(app, who.alice, "notes", "n1")
        fan_out(registry, expect=1)
        (row,) = deliveries_of(registry, endpoint["id"])
        with session_of(registry) as session:
            session.execute(
                update(Delivery).where(Delivery.id == row.id)
                .values(attempts=len(RETRY_SCHEDULE) - 1)
            )  # fmt: skip
        send_due(registry)
        assert len(receiver.received) == 1  # the redirect was not followed
    (row,) = deliveries_of(registry, endpoint["id"])
    assert row.status == "failed"
    assert row.attempts == len(RETRY_SCHEDULE)
    assert "redirect to https://elsewhere.example/ not followed" in row.last_error


def test_410_disables_the_endpoint_and_says_so(app, who: People):
    registry = app.app.registry
    with Receiver(answer=(410, {}, b"")) as receiver:
        notes(app, who.alice)
        endpoint = hook(app, who.alice, receiver.url, event_types=["record.*"], collections=NOTES,
                        max_in_flight=1)  # fmt: skip
        watcher = hook(app, who.admin, "http://127.0.0.1:9/", event_types=["webhook.*"])
        for n in range(3):
            write(app, who.alice, "notes", f"n{n}")
        fan_out(registry, expect=3)
        send_due(registry)
        assert len(receiver.received) == 1  # disabled at once: the others are not sent
    shown = app.get(f"/api/v1/webhooks/{endpoint['id']}", headers=who.alice).json
    assert shown["enabled"] is False
    assert "410" in shown["disabled_reason"]
    assert {row.status for row in deliveries_of(registry, endpoint["id"])} == {"failed"}
    fan_out(registry, expect=1)
    (told,) = deliveries_of(registry, watcher["id"])
    assert told.event_type == "webhook.disabled"
    assert told.payload["data"]["endpoint"]["id"] == endpoint["id"]
    assert told.payload["data"]["failed_deliveries"] == 2


def test_an_endpoint_failing_for_too_long_is_disabled(app, who: People):
    registry = app.app.registry
    with Receiver(answer=(500, {}, b"")) as receiver:
        notes(app, who.alice)
        endpoint = hook(app, who.alice, receiver.url, event_types=["record.*"], collections=NOTES)
        write(app, who.alice, "notes", "n1")
        write(app, who.alice, "notes", "n2")
        fan_out(registry, expect=2)
        long_ago = utcnow() - datetime.timedelta(hours=121)
        with session_of(registry) as session:
            session.execute(
                update(Endpoint).where(Endpoint.id == endpoint["id"])
                .values(failing_since=long_ago, max_in_flight=1)
            )  # fmt: skip
        send_due(registry)
    shown = app.get(f"/api/v1/webhooks/{endpoint['id']}", headers=who.alice).json
    assert shown["enabled"] is False
    assert "failing since" in shown["disabled_reason"]
    assert [row.status for row in deliveries_of(registry, endpoint["id"])] == ["failed"] * 2


def test_a_success_ends_the_run_of_failures(app, who: People):
    registry = app.app.registry
    with Receiver() as receiver:
        notes(app, who.alice)
        endpoint = hook(app, who.alice, receiver.url, event_types=["record.*"], collections=NOTES)
        with session_of(registry) as session:
            session.execute(
                update(Endpoint).where(Endpoint.id == endpoint["id"])
                .values(failing_since=utcnow())
            )  # fmt: skip
        write(app, who.alice, "notes", "n1")
        fan_out(registry, expect=1)
        send_due(registry)
    assert (
        app.get(f"/api/v1/webhooks/{endpoint['id']}", headers=who.alice).json["failing_since"]
        is None
    )


def test_what_the_owner_may_no_longer_read_is_skipped(app, who: People):
    registry = app.app.registry
    bob = f"/api/v1/users/{who.ids['bob']}"
    with Receiver() as receiver:
        notes(app, who.alice, permissions={"read": [f"user:{who.ids['bob']}"]})
        bobs = hook(app, who.bob, receiver.url, event_types=["record.*"], collections=NOTES)
        app.patch_json(bob, {"is_admin": True}, headers=who.admin)
        time.sleep(0.005)  # the endpoints below are created after that event's millisecond
        bobs_users = hook(app, who.bob, receiver.url, event_types=["user.*"])
        roots = hook(app, who.admin, receiver.url, event_types=["user.*"])
        write(app, who.alice, "notes", "n1")
        app.patch_json(f"{COLLECTIONS}/notes", {"permissions": {"read": []}}, headers=who.alice)
        app.patch_json(bob, {"is_admin": False}, headers=who.admin)
        app.post_json("/api/v1/users", {"username": "dora", "password": "a long passphrase 1"},
                      headers=who.admin, status=201)  # fmt: skip
        fan_out(registry, expect=5)
        send_due(registry)
        # Bob lost his read access, and his admin role, before the sends: nothing reached him.
        assert [row.status for row in deliveries_of(registry, bobs["id"])] == ["skipped"]
        skipped = deliveries_of(registry, bobs_users["id"])
        assert [row.status for row in skipped] == ["skipped", "skipped"]
        assert [row.status for row in deliveries_of(registry, roots["id"])] == ["succeeded"] * 2
        assert sorted(got.json["type"] for got in receiver.received) == [
            "user.created",
            "user.updated",
        ]


def test_max_in_flight_bounds_the_claims_of_an_endpoint(app, who: People):
    registry = app.app.registry
    notes(app, who.alice)
    endpoint = hook(app, who.alice, "http://127.0.0.1:9/", event_types=["record.*"],
                    collections=NOTES, max_in_flight=2)  # fmt: skip
    for n in range(5):
        write(app, who.alice, "notes", f"n{n}")
    fan_out(registry, expect=5)
    with session_of(registry) as session:
        first = claim_due(session, timeout=5, limit=10)
    with session_of(registry) as session:
        second = claim_due(session, timeout=5, limit=10)
    assert len(first) == 2
    assert second == []
    later = utcnow() + datetime.timedelta(seconds=40)
    with session_of(registry) as session:
        expired = claim_due(session, timeout=5, limit=10, now=later)
    assert len(expired) == 2  # the leases ran out (a worker died): claimed again
    assert {c.delivery_id for c in expired} == {c.delivery_id for c in first}
    assert {c.endpoint_id for c in expired} == {endpoint["id"]}


def test_a_big_event_is_sent_thin(app, who: People, make_app):
    small = make_app({"benben.webhooks.max_payload_bytes": "1024"}, include=include_delivery)
    registry = small.app.registry
    notes(small, who.alice)
    endpoint = hook(small, who.alice, "http://127.0.0.1:9/", event_types=["record.*"],
                    collections=NOTES)  # fmt: skip
    write(small, who.alice, "notes", "big", text="x" * 5000)
    write(small, who.alice, "notes", "small", text="x")
    fan_out(registry, expect=2)
    big, little = deliveries_of(registry, endpoint["id"])
    assert big.payload["truncated"] is True
    modified = big.payload["data"]["last_modified"]
    assert big.payload["data"] == {"collection": "notes", "id": "big", "last_modified": modified}
    assert "truncated" not in little.payload
    assert little.payload["data"]["data"] == {"text": "x"}


def test_lost_events_are_marked_and_fan_out_goes_on(app, who: People):
    registry = app.app.registry
    hook(app, who.admin, "http://127.0.0.1:9/", event_types=["webhook.*", "record.*"])
    notes(app, who.alice)
    write(app, who.alice, "notes", "n0")
    fan_out(registry, expect=1)
    write(app, who.alice, "notes", "n1")
    write(app, who.alice, "notes", "n2")
    from benben.events.feed import PRUNED_MARK, advance_consumer, consumer_position

    with session_of(registry) as session:
        after = consumer_position(session, CONSUMER)
    with session_of(registry) as session:
        events = wait_until(lambda: len(read_events(session, after, limit=10)) == 2 and
                            read_events(session, after, limit=10), "n1 and n2")  # fmt: skip
        advance_consumer(session, PRUNED_MARK, events[-1].position)  # as retention would
    fan_out(registry, expect=1)
    types = [row.event_type for row in deliveries_of(registry)]
    assert types == ["record.created", "webhook.feed_gap"]  # n1 and n2 were lost; that is said
    write(app, who.alice, "notes", "n3")
    fan_out(registry, expect=1)
    assert [row.event_type for row in deliveries_of(registry)][-1] == "record.created"


def test_tasks_run_from_the_queue_after_a_commit(app, who: People):
    from benben.worker.embedded import run_queued_tasks

    registry = app.app.registry
    with Receiver() as receiver:
        notes(app, who.alice)
        endpoint = hook(app, who.alice, receiver.url, event_types=["record.*"], collections=NOTES)
        receiver.secrets = [endpoint["secret"]]
        write(app, who.alice, "notes", "n1")
        time.sleep(0.2)  # the debounced wake-up
        run_queued_tasks(registry)
        assert [got.json["data"]["id"] for got in receiver.received] == ["n1"]
        assert receiver.received[0].verified


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _move(registry: Any, endpoint_id: str, **values: Any) -> None:
    with session_of(registry) as session:
        session.execute(update(Endpoint).where(Endpoint.id == endpoint_id).values(**values))


def _make_due(registry: Any, delivery_id: str) -> None:
    with session_of(registry) as session:
        session.execute(
            update(Delivery).where(Delivery.id == delivery_id).values(next_attempt_at=utcnow())
        )
