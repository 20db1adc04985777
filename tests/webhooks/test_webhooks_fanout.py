"""Fan-out: each event turned into deliveries exactly once, however many workers fan out at once,
and woken after commits without a flood of tasks."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import transaction
import webtest
from webhooks_delivery_support import deliveries_of, fan_out, include_delivery
from webhooks_support import People, session_of

from benben.db import get_tm_session, session_factory
from benben.events.feed import advance_consumer, consumer_position, latest_position
from benben.plugin import START, Event, FeedPosition, TaskContext
from benben.testing import feed_settled
from benben_webhooks import tasks
from benben_webhooks.fanout import CONSUMER, matches, payload_for, thin_payload
from benben_webhooks.models import Endpoint

COLLECTIONS = "/api/v1/collections"


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {**app_settings, "benben.ratelimit.enabled": "false"}


@pytest.fixture
def app(make_app: Callable[..., webtest.TestApp]) -> webtest.TestApp:
    return make_app(include=include_delivery)


def test_workers_fanning_out_at_once_make_each_delivery_once(app, who: People):
    registry = app.app.registry
    app.put_json(f"{COLLECTIONS}/notes", {}, headers=who.alice, status=201)
    for url in ("http://127.0.0.1:9/a", "http://127.0.0.1:9/b"):
        app.post_json("/api/v1/webhooks", {"url": url, "event_types": ["record.*"],
                      "collections": ["notes"]}, headers=who.alice, status=201)  # fmt: skip
    for number in range(40):
        app.put_json(f"{COLLECTIONS}/notes/records/r{number}", {"data": {}}, headers=who.alice)
    made: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(3):
                made.append(tasks.fanout_task(TaskContext(registry, tasks.FANOUT_TASK)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    total = sum(made)
    if total < 80:  # PostgreSQL: an event shows once older transactions (anywhere) ended
        total += fan_out(registry, expect=80 - total)
    assert total == 80
    rows = deliveries_of(registry)
    pairs = Counter((row.endpoint_id, row.message_id) for row in rows)
    assert len(pairs) == 80
    assert max(pairs.values()) == 1


@pytest.mark.parametrize("backends", [("postgresql", "redis")], indirect=True, ids=["postgresql"])
def test_a_consumer_registered_twice_at_once_keeps_the_advanced_position(app):
    """Two workers' first fan-outs: the second waits for the first's registration, then reads
    the position the first advanced to, not the start again."""
    registry = app.app.registry
    name = f"{CONSUMER}-race"
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    first = get_tm_session(session_factory(registry), manager)
    assert consumer_position(first, name, start=START) == START
    advanced = FeedPosition(7, 42)
    advance_consumer(first, name, advanced)
    seen: list[FeedPosition] = []

    def second() -> None:
        with session_of(registry) as session:
            seen.append(consumer_position(session, name, start=START))

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.3)  # the second is waiting on the first's uncommitted row
    assert seen == []
    manager.commit()
    first.close()
    thread.join(timeout=10)
    assert seen == [advanced]


def _endpoint(**fields: Any) -> Endpoint:
    import datetime

    defaults = {
        "event_types": ["record.*"],
        "collections": [],
        "created_at": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    }
    return Endpoint(**{**defaults, **fields})


def _event(kind: str = "record.created", collection: str | None = "notes", at: int = 0) -> Event:
    at = at or 1_800_000_000_000
    return Event(kind, at, collection_id=collection, record_id="r1", position=FeedPosition(1, 2))


def test_what_an_endpoint_subscribes_to():
    assert matches(_endpoint(), _event())
    assert not matches(_endpoint(), _event("collection.created"))
    assert matches(_endpoint(event_types=["*"]), _event("user.created", None))
    assert matches(_endpoint(event_types=["record.deleted", "record.created"]), _event())
    assert not matches(_endpoint(event_types=["record.updated"]), _event())
    assert matches(_endpoint(collections=["notes", "x"]), _event())
    assert not matches(_endpoint(collections=["x"]), _event())
    assert not matches(_endpoint(collections=["x"]), _event("user.created", None))
    # Events from before the endpoint existed are not its.
    assert not matches(_endpoint(), _event(at=1_700_000_000_000))


def test_payloads_over_the_cap_are_thin():
    event = Event("record.created", 1_800_000_000_000, actor="u1", collection_id="notes",
                  record_id="r1", last_modified=5, data={"data": {"text": "x" * 3000}},
                  position=FeedPosition(3, 4))  # fmt: skip
    assert payload_for(event, 10_000) == event.payload()
    thin = payload_for(event, 1024)
    assert thin == thin_payload(event.payload())
    assert thin["truncated"] is True
    assert thin["data"] == {"collection": "notes", "id": "r1", "last_modified": 5}
    assert (thin["id"], thin["type"], thin["actor"]) == ("3-4", "record.created", "u1")


def test_commits_wake_the_fan_out_at_most_once_per_interval(monkeypatch):
    sent: list[float] = []
    monkeypatch.setattr(tasks, "enqueue_task", lambda registry, name: sent.append(time.monotonic()))
    waker = tasks.FanOutWaker(registry=None)  # type: ignore[arg-type]
    event = _event()
    for _ in range(50):
        waker(event, None)  # type: ignore[arg-type]
    assert len(sent) == 1  # the first at once; the others wait for the interval's end
    time.sleep(tasks.DEBOUNCE * 3)
    assert len(sent) == 2  # one more for all of them: none waits for the periodic sweep
    assert sent[1] - sent[0] >= tasks.DEBOUNCE * 0.9


def test_writes_wake_no_fan_out_while_no_endpoint_is_enabled(app, who: People, monkeypatch):
    sent: list[str] = []
    monkeypatch.setattr(tasks, "enqueue_task", lambda registry, name: sent.append(name))
    app.put_json(f"{COLLECTIONS}/notes", {}, headers=who.alice, status=201)
    app.put_json(f"{COLLECTIONS}/notes/records/r1", {"data": {}}, headers=who.alice)
    assert sent == []  # one query per recheck interval instead of a task per write
    app.post_json("/api/v1/webhooks", {"url": "http://127.0.0.1:9/a", "event_types": ["*"],
                  "collections": ["notes"]}, headers=who.alice, status=201)  # fmt: skip
    app.put_json(f"{COLLECTIONS}/notes/records/r2", {"data": {}}, headers=who.alice)
    assert sent == [tasks.FANOUT_TASK]  # created here: seen at once


def test_a_fan_out_with_no_endpoint_moves_the_cursor_to_the_end(app, who: People):
    registry = app.app.registry
    for number in range(3):
        app.put_json(f"{COLLECTIONS}/c{number}", {}, headers=who.alice, status=201)
    feed_settled(registry)
    tasks.fanout_task(TaskContext(registry, tasks.FANOUT_TASK))
    with session_of(registry) as session:
        assert consumer_position(session, CONSUMER) == latest_position(session)
        assert latest_position(session) != START
