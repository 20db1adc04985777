"""Delivery of what the API asks for (a test event, a rotated secret's overlap), of deleted
collections, and without any proxy from the environment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import webtest
from webhooks_delivery_support import (
    Receiver,
    deliveries_of,
    fan_out,
    free_port,
    include_delivery,
    send_due,
)
from webhooks_support import People

from benben_webhooks.sending import send
from benben_webhooks.ssrf import close_pools

COLLECTIONS = "/api/v1/collections"


@pytest.fixture
def app(make_app: Callable[..., webtest.TestApp]) -> webtest.TestApp:
    return make_app(include=include_delivery)


def hook(app: Any, headers: dict[str, str], url: str, **fields: Any) -> dict[str, Any]:
    body = {"url": url, **fields}
    return app.post_json("/api/v1/webhooks", body, headers=headers, status=201).json


def test_a_test_event_is_sent_signed(app, who: People):
    registry = app.app.registry
    app.put_json(f"{COLLECTIONS}/notes", {}, headers=who.alice, status=201)
    with Receiver() as receiver:
        endpoint = hook(app, who.alice, receiver.url, collections=["notes"])
        receiver.secrets = [endpoint["secret"]]
        app.post(f"/api/v1/webhooks/{endpoint['id']}/test", headers=who.alice, status=202)
        assert send_due(registry, endpoint["id"]) == 1
        (got,) = receiver.received
        assert got.verified
        assert got.json["type"] == "webhook.test"
    (row,) = deliveries_of(registry, endpoint["id"])
    assert row.status == "succeeded"


def test_during_a_rotation_both_secrets_sign(app, who: People):
    registry = app.app.registry
    app.put_json(f"{COLLECTIONS}/notes", {}, headers=who.alice, status=201)
    with Receiver() as old, Receiver() as new:
        endpoint = hook(app, who.alice, old.url, event_types=["record.*"], collections=["notes"])
        old.secrets = [endpoint["secret"]]
        rotated = app.post(
            f"/api/v1/webhooks/{endpoint['id']}/secret/rotate", headers=who.alice, status=201
        ).json
        new.secrets = [rotated["secret"]]
        app.put_json(f"{COLLECTIONS}/notes/records/r1", {"data": {}}, headers=who.alice)
        fan_out(registry, expect=1)
        send_due(registry)
        (got,) = old.received
        assert got.verified  # a receiver still holding the old secret
        assert len(got.headers["webhook-signature"].split()) == 2
        assert new.verify(got.body, got.headers)  # and one holding the new one


def test_a_deleted_collection_reaches_those_who_could_read_it(app, who: People):
    registry = app.app.registry
    bob = f"user:{who.ids['bob']}"
    app.put_json(f"{COLLECTIONS}/notes", {"permissions": {"read": [bob]}}, headers=who.alice,
                 status=201)  # fmt: skip
    with Receiver() as receiver:
        alices = hook(app, who.alice, receiver.url, event_types=["collection.deleted"],
                      collections=["notes"])  # fmt: skip
        bobs = hook(app, who.bob, receiver.url, event_types=["collection.deleted"],
                    collections=["notes"])  # fmt: skip
        app.delete(f"{COLLECTIONS}/notes", headers=who.alice)
        fan_out(registry, expect=2)
        send_due(registry)
        assert [row.status for row in deliveries_of(registry, alices["id"])] == ["succeeded"]
        assert [row.status for row in deliveries_of(registry, bobs["id"])] == ["succeeded"]
        assert {got.json["type"] for got in receiver.received} == {"collection.deleted"}


def test_no_proxy_from_the_environment_is_used(monkeypatch):
    """An HTTP(S)_PROXY pointing nowhere changes nothing: the checked address is connected to."""
    dead = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    import ipaddress

    close_pools()
    with Receiver() as receiver:
        outcome = send(receiver.url, b"{}", {}, timeout=2,
                       allowed_networks=[ipaddress.ip_network("127.0.0.0/8")])  # fmt: skip
        assert outcome.status_code == 204
        assert len(receiver.received) == 1
