"""The delivery proofs, at CI's sizes (benchmarks/webhooks_delivery.py runs the full one):

(a) record writes with a webhook subscribed, the real ``benben worker`` killed with SIGKILL
    several times while delivering, and restarted: every event delivered, each signature valid,
    duplicates only of deliveries in flight at a kill (the endpoint's max_in_flight, at most);
(b) the receiver down (connection refused) for a while, then up: everything delivered, in
    the order the retries were due;
(c) two workers on PostgreSQL with Redis, two with RabbitMQ: nothing delivered twice;
(d) the embedded default: a webhook fires with only the app running (its in-process worker).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import webtest
from sqlalchemy import func, select, update
from webhooks_delivery_support import (
    Receiver,
    deliveries_of,
    fan_out,
    free_port,
    include_delivery,
    send_due,
    wait_until,
)
from webhooks_proofs_support import WorkerProcess, duplicates, wait_for, worker_environ
from webhooks_support import People, session_of

from benben.testing import require_rabbitmq, require_redis
from benben_webhooks.models import Delivery

COLLECTIONS = "/api/v1/collections"
RECORDS = int(os.environ.get("BENBEN_PROOF_RECORDS", "200"))  # the benchmark: 10,000
IN_FLIGHT = 8
KILLS = 3


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {**app_settings, "benben.ratelimit.enabled": "false"}  # hundreds of writes by one


@pytest.fixture
def app(make_app: Callable[..., webtest.TestApp]) -> webtest.TestApp:
    return make_app(include=include_delivery)


def progress(registry: Any, receiver: Receiver) -> Callable[[], Any]:
    return lambda: (statuses(registry), len(receiver.received))


def subscribe(app: Any, who: People, url: str, **fields: Any) -> dict[str, Any]:
    app.put_json(f"{COLLECTIONS}/notes", {}, headers=who.alice, status=201)
    body = {"url": url, "event_types": ["record.*"], "collections": ["notes"], **fields}
    return app.post_json("/api/v1/webhooks", body, headers=who.alice, status=201).json


def write_records(app: Any, who: People, count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        app.put_json(f"{COLLECTIONS}/notes/records/r{number}", {"data": {"n": number}},
                     headers=who.alice, status=201)  # fmt: skip


def statuses(registry: Any) -> dict[str, int]:
    with session_of(registry) as session:
        rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return {row[0]: row[1] for row in rows}


@pytest.fixture
def broker_prefix() -> Iterator[str]:
    """Queue names of this test's own on the shared brokers (removed afterwards from Redis)."""
    prefix = f"test-{uuid.uuid4().hex[:10]}."
    yield prefix
    import redis

    client = redis.Redis.from_url(require_redis())
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def broker_settings(url: str, prefix: str) -> dict[str, str]:
    return {
        "benben.worker.broker_url": url,
        "benben.worker.queue_prefix": prefix,
        # Each test's own scheduler lock: a PostgreSQL advisory lock is server-wide.
        "benben.worker.scheduler_lock": f"{prefix}scheduler",
        "benben.worker.scheduler_standby_seconds": "1",
        "benben.webhooks.timeout": "2",
    }


@pytest.mark.slow
def test_a_killed_worker_loses_no_event(make_app, app_settings, broker_prefix, tmp_path):
    settings = {**app_settings, **broker_settings(require_redis(), broker_prefix)}
    app = make_app(settings, include=include_delivery)
    registry = app.app.registry
    from webhooks_support import people

    who = people(app)
    with Receiver(keep_alive=True) as receiver:
        endpoint = subscribe(app, who, receiver.url, max_in_flight=IN_FLIGHT)
        receiver.secrets = [endpoint["secret"]]
        write_records(app, who, RECORDS)
        worker = WorkerProcess(worker_environ(settings), tmp_path / "worker.log", "--beat")
        worker.start()
        midway = 0
        try:
            for kill in range(1, KILLS + 1):
                # Killed while delivering: after a share of the events arrived, before all did
                # (on a loaded machine a restarted worker may finish before the next kill).
                target = RECORDS * kill // (KILLS + 1)
                wait_for(lambda t=target: len(receiver.received) >= t, f"{target} received",
                         120, [worker])  # fmt: skip
                midway += len(set(receiver.messages())) < RECORDS
                worker.kill()
                worker.start()
            assert midway >= 1, "no kill happened while events were being delivered"
            wait_for(lambda: statuses(registry) == {"succeeded": RECORDS}, "every delivery",
                     180, [worker], progress(registry, receiver))  # fmt: skip
        finally:
            worker.stop()
        received = receiver.messages()
    rows = deliveries_of(registry, endpoint["id"])
    assert {row.message_id for row in rows} == set(received)  # every event, nothing else
    assert len(rows) == RECORDS
    assert all(got.verified for got in receiver.received)  # every signature checks out
    again = duplicates(received)
    # Only what was in flight at a kill came twice: at most max_in_flight per kill.
    assert sum(count - 1 for count in again.values()) <= worker.kills * IN_FLIGHT, again


def test_a_receiver_back_up_gets_everything_in_retry_order(app, who: People):
    registry = app.app.registry
    port = free_port()
    endpoint = subscribe(app, who, f"http://127.0.0.1:{port}/hook", max_in_flight=1)
    write_records(app, who, 6)
    fan_out(registry, expect=6)
    for _round in range(3):  # down: connection refused, three times over
        _make_due(registry)
        assert send_due(registry) == 6
    rows = deliveries_of(registry, endpoint["id"])
    assert {(row.status, row.attempts) for row in rows} == {("pending", 3)}
    assert all("could not connect" in row.last_error for row in rows)
    # The order the retries are due in (jitter shuffled it); time passes for all alike.
    due_order = [row.message_id for row in sorted(rows, key=lambda row: row.next_attempt_at)]
    with Receiver([endpoint["secret"]], port=port) as receiver:
        _make_due(registry)
        assert send_due(registry) == 6
        assert receiver.messages() == due_order
        assert all(got.verified for got in receiver.received)
    assert {row.status for row in deliveries_of(registry, endpoint["id"])} == {"succeeded"}


def _make_due(registry: Any) -> None:
    """Time passes: every pending delivery's retry comes due, their order kept."""
    with session_of(registry) as session:
        latest = session.scalar(select(func.max(Delivery.next_attempt_at)))
        from benben_webhooks.models import utcnow

        shift = (utcnow() - latest.replace(tzinfo=utcnow().tzinfo)) if latest else None
        if shift is not None:
            rows = session.execute(select(Delivery.id, Delivery.next_attempt_at)).all()
            for delivery_id, moment in rows:
                moment = moment.replace(tzinfo=utcnow().tzinfo) if moment.tzinfo is None else moment
                session.execute(
                    update(Delivery).where(Delivery.id == delivery_id)
                    .values(next_attempt_at=moment + shift)
                )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("backends", [("postgresql", "redis")], indirect=True, ids=["postgresql"])
@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_two_workers_deliver_nothing_twice(make_app, app_settings, broker, broker_prefix, tmp_path):
    url = require_redis() if broker == "redis" else require_rabbitmq()
    settings = {**app_settings, **broker_settings(url, broker_prefix)}
    app = make_app(settings, include=include_delivery)
    registry = app.app.registry
    from webhooks_support import people

    who = people(app)
    count = RECORDS // 2
    with Receiver(keep_alive=True) as receiver:
        endpoint = subscribe(app, who, receiver.url, max_in_flight=IN_FLIGHT)
        receiver.secrets = [endpoint["secret"]]
        environ = worker_environ(settings)
        workers = [
            WorkerProcess(environ, tmp_path / "first.log", "--beat").start(),
            WorkerProcess(environ, tmp_path / "second.log").start(),
        ]
        try:
            write_records(app, who, count)  # while both work
            wait_for(lambda: statuses(registry) == {"succeeded": count}, "every delivery",
                     180, workers, progress(registry, receiver))  # fmt: skip
        finally:
            for worker in workers:
                worker.stop()
        received = receiver.messages()
    assert len(received) == count
    assert duplicates(received) == {}
    assert all(got.verified for got in receiver.received)
    assert len(deliveries_of(registry, endpoint["id"])) == count


def test_the_embedded_worker_delivers_with_nothing_else_running(app, who: People):
    from benben.worker.embedded import start_embedded, stop_embedded

    registry = app.app.registry
    assert start_embedded(registry) is not None  # no broker: the embedded default
    try:
        with Receiver() as receiver:
            endpoint = subscribe(app, who, receiver.url)
            receiver.secrets = [endpoint["secret"]]
            write_records(app, who, 3)
            wait_until(lambda: len(receiver.received) >= 3, "three deliveries", timeout=30)
            assert sorted(got.json["data"]["id"] for got in receiver.received) == [
                "r0", "r1", "r2",
            ]  # fmt: skip
            assert all(got.verified for got in receiver.received)
    finally:
        stop_embedded(registry)
