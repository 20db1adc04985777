"""An endpoint's delivery log, one delivery with its attempts, redelivery (one, or since a time
or an event) and the test event."""

from __future__ import annotations

import datetime

from webhooks_support import add_delivery, create_webhook, delivery_row


def _endpoint(app, who):
    return create_webhook(app, who.admin)["id"]


def test_the_log_lists_newest_first_with_attempt_facts(app, who):
    endpoint = _endpoint(app, who)
    registry = app.app.registry
    base = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    old = add_delivery(registry, endpoint, created_at=base, attempts=[
        {"status_code": 500, "error": "HTTP 500", "latency_ms": 30},
        {"succeeded": True, "status_code": 200, "latency_ms": 12},
    ])  # fmt: skip
    new = add_delivery(registry, endpoint, status="pending", position=(2, 7),
                       created_at=base + datetime.timedelta(hours=1),
                       attempts=[{"error": "connection refused", "latency_ms": 3}])  # fmt: skip
    page = app.get(f"/api/v1/webhooks/{endpoint}/deliveries", headers=who.admin).json
    assert [item["id"] for item in page["data"]] == [new, old]
    newest, oldest = page["data"]
    assert (newest["status"], newest["attempts"], newest["latency_ms"]) == ("pending", 1, 3)
    assert newest["last_error"] == "connection refused"
    assert newest["event"] == "2-7"
    assert (oldest["attempts"], oldest["last_status_code"], oldest["latency_ms"]) == (2, 200, 12)
    pending = app.get(
        f"/api/v1/webhooks/{endpoint}/deliveries?status=pending", headers=who.admin
    ).json["data"]
    assert [item["id"] for item in pending] == [new]
    paged = app.get(f"/api/v1/webhooks/{endpoint}/deliveries?_limit=1", headers=who.admin).json
    assert [item["id"] for item in paged["data"]] == [new]
    rest = app.get(paged["next"], headers=who.admin).json
    assert [item["id"] for item in rest["data"]] == [old]
    app.get(f"/api/v1/webhooks/{endpoint}/deliveries?status=lost", headers=who.admin, status=400)


def test_one_delivery_with_its_attempts_and_truncated_bodies(make_app, who, app):
    small = make_app({"benben.webhooks.response_log_bytes": "10"})
    endpoint = _endpoint(small, who)
    delivery = add_delivery(small.app.registry, endpoint, attempts=[
        {"status_code": 503, "response_body": "x" * 50, "latency_ms": 40},
        {"succeeded": True, "status_code": 204, "latency_ms": 8},
    ])  # fmt: skip
    body = small.get(f"/api/v1/webhooks/{endpoint}/deliveries/{delivery}", headers=who.admin).json
    assert body["payload"]["type"] == "record.created"
    assert [a["status_code"] for a in body["attempt_log"]] == [503, 204]
    assert body["attempt_log"][0]["response_body"] == "x" * 10
    assert body["latency_ms"] == 8
    other = _endpoint(small, who)
    small.get(f"/api/v1/webhooks/{other}/deliveries/{delivery}", headers=who.admin, status=404)
    small.get(f"/api/v1/webhooks/{endpoint}/deliveries/nope", headers=who.admin, status=404)


def test_redelivering_one_delivery(app, who):
    endpoint = _endpoint(app, who)
    registry = app.app.registry
    failed = add_delivery(registry, endpoint, status="failed", attempts=[{"status_code": 500}] * 3)
    before = delivery_row(registry, failed)
    answer = app.post(
        f"/api/v1/webhooks/{endpoint}/deliveries/{failed}/redeliver", headers=who.admin, status=202
    ).json
    assert answer["status"] == "pending"
    after = delivery_row(registry, failed)
    assert (after["status"], after["attempts"]) == ("pending", 0)
    assert after["message_id"] == before["message_id"]  # the same message: receivers dedupe
    assert after["next_attempt_at"] >= before["next_attempt_at"]


def test_redelivering_since_a_time_or_an_event(app, who):
    endpoint = _endpoint(app, who)
    other = _endpoint(app, who)
    registry = app.app.registry
    base = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    hour = datetime.timedelta(hours=1)
    early = add_delivery(registry, endpoint, created_at=base, position=(5, 1))
    late_ok = add_delivery(registry, endpoint, created_at=base + 2 * hour, position=(6, 2))
    late_failed = add_delivery(
        registry, endpoint, status="failed", created_at=base + 3 * hour, position=(6, 9)
    )
    elsewhere = add_delivery(registry, other, created_at=base + 3 * hour, position=(7, 1))
    url = f"/api/v1/webhooks/{endpoint}/redeliver"
    answer = app.post_json(url, {"since": "2026-12-01T01:00:00Z"}, headers=who.admin, status=202)
    assert answer.json == {"redelivered": 2}
    statuses = {d: delivery_row(registry, d)["status"] for d in (early, late_ok, late_failed)}
    assert statuses == {early: "succeeded", late_ok: "pending", late_failed: "pending"}
    assert delivery_row(registry, elsewhere)["status"] == "succeeded"
    answer = app.post_json(url, {"since_event": "6-5"}, headers=who.admin, status=202)
    assert answer.json == {"redelivered": 1}
    answer = app.post_json(url, {"since_event": "0-0"}, headers=who.admin, status=202)
    assert answer.json == {"redelivered": 3}


def test_redelivery_bodies_are_checked(app, who):
    url = f"/api/v1/webhooks/{_endpoint(app, who)}/redeliver"
    for body, pointer in [
        ({}, ""),
        ({"since": "yesterday"}, "/since"),
        ({"since": "2026-12-01T00:00:00"}, "/since"),
        ({"since_event": "12"}, "/since_event"),
        ({"since_event": "9" * 19 + "-1"}, "/since_event"),
        ({"since": "9999-12-31T23:00:00-05:00"}, "/since"),
        ({"since": "2026-12-01T00:00:00Z", "since_event": "1-1"}, ""),
    ]:
        problem = app.post_json(url, body, headers=who.admin, status=400).json
        assert pointer in [error["pointer"] for error in problem["errors"]], body


def test_the_test_event_is_queued_as_a_delivery(app, who):
    endpoint = _endpoint(app, who)
    answer = app.post(f"/api/v1/webhooks/{endpoint}/test", headers=who.admin, status=202)
    delivery = answer.json
    assert answer.headers["Location"].endswith(
        f"/api/v1/webhooks/{endpoint}/deliveries/{delivery['id']}"
    )
    assert (delivery["event_type"], delivery["status"], delivery["event"]) == (
        "webhook.test", "pending", None,
    )  # fmt: skip
    row = delivery_row(app.app.registry, delivery["id"])
    assert row["payload"]["type"] == "webhook.test"
    assert row["payload"]["data"]["webhook"] == endpoint
    assert "." not in row["message_id"]
    log = app.get(f"/api/v1/webhooks/{endpoint}/deliveries", headers=who.admin).json["data"]
    assert [item["id"] for item in log] == [delivery["id"]]


def test_the_test_event_wakes_the_sender(app, who, monkeypatch):
    import benben_webhooks.wake as wake

    sent = []
    monkeypatch.setattr(wake, "enqueue_task", lambda request, *args: sent.append(args))
    endpoint = _endpoint(app, who)
    app.post(f"/api/v1/webhooks/{endpoint}/test", headers=who.admin, status=202)
    assert sent == [("webhooks.send", endpoint)]


def test_deleting_an_endpoint_deletes_its_log(app, who):
    endpoint = _endpoint(app, who)
    delivery = add_delivery(app.app.registry, endpoint, attempts=[{"status_code": 200}])
    app.delete(f"/api/v1/webhooks/{endpoint}", headers=who.admin, status=204)
    from webhooks_support import session_of

    from benben_webhooks.models import Attempt, Delivery

    with session_of(app.app.registry) as session:
        assert session.get(Delivery, delivery) is None
        assert session.query(Attempt).filter_by(delivery_id=delivery).count() == 0


def test_a_redelivered_test_event_reaches_the_receiver_again_with_its_id(app, who):
    from webhooks_support import receiver

    from benben.worker.embedded import run_queued_tasks

    with receiver() as hook:
        created = create_webhook(app, who.admin, url=hook.url)
        hook.secrets = [created["secret"]]
        url = f"/api/v1/webhooks/{created['id']}"
        delivery = app.post(f"{url}/test", headers=who.admin, status=202).json
        run_queued_tasks(app.app.registry)
        app.post(f"{url}/deliveries/{delivery['id']}/redeliver", headers=who.admin, status=202)
        run_queued_tasks(app.app.registry)
        ids = [sent.headers["webhook-id"] for sent in hook.received]
        assert ids == [delivery["message_id"]] * 2
    shown = app.get(f"{url}/deliveries/{delivery['id']}", headers=who.admin).json
    assert shown["status"] == "succeeded"
    assert shown["attempts"] == 2
    assert [attempt["succeeded"] for attempt in shown["attempt_log"]] == [True, True]
