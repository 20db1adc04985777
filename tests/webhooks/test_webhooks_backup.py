"""The webhooks plugin in backups: endpoints, deliveries and attempts restored into another
database, which signs with the same secrets, sends what was pending, fans out the events not
fanned out yet, and neither repeats nor loses a delivery of the events before the backup."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest
from webhooks_delivery_support import (
    Receiver,
    deliveries_of,
    fan_out,
    include_delivery,
    send_due,
)
from webhooks_support import People

from benben.backup.dump import create_backup
from benben.backup.restore import restore_archive
from benben.testing import Backends
from benben.testing_auth import bearer, login

COLLECTIONS = "/api/v1/collections"


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {**app_settings, "benben.ratelimit.enabled": "false"}


@pytest.fixture
def app(make_app: Callable[..., webtest.TestApp]) -> webtest.TestApp:
    return make_app(include=include_delivery)


@contextlib.contextmanager
def other_database(backends: Backends, tmp_path: Path) -> Iterator[Backends]:
    """Another, empty database on the same backend, removed afterwards."""
    (tmp_path / "other").mkdir()
    other = Backends(backends.database, backends.cache, tmp_path / "other", backends.shared)
    try:
        yield other
    finally:
        other.close()


def write(app: Any, headers: dict[str, str], rid: str) -> None:
    app.put_json(f"{COLLECTIONS}/notes/records/{rid}", {"data": {"rid": rid}}, headers=headers)


def test_deliveries_carry_over_a_restore_once_each(
    app, who: People, make_app, app_settings, backends, tmp_path
):
    registry = app.app.registry
    with Receiver() as receiver:
        app.put_json(f"{COLLECTIONS}/notes", {}, headers=who.alice, status=201)
        body = {"url": receiver.url, "event_types": ["record.*"], "collections": ["notes"]}
        endpoint = app.post_json("/api/v1/webhooks", body, headers=who.alice, status=201).json
        receiver.secrets = [endpoint["secret"]]
        write(app, who.alice, "sent-1")
        write(app, who.alice, "sent-2")
        fan_out(registry, expect=2)
        assert send_due(registry) == 2
        write(app, who.alice, "pending")
        fan_out(registry, expect=1)  # a delivery made, not sent yet
        write(app, who.alice, "not-fanned-out")  # an event after the fan-out's cursor
        archive = tmp_path / "archive.tar"
        create_backup(registry, str(archive))

        with other_database(backends, tmp_path) as other:
            settings = {**app_settings, **other.settings()}
            target = make_app(settings, include=include_delivery)
            restored = target.app.registry
            other.track(restored)
            restore_archive(restored, str(archive))

            assert fan_out(restored, expect=1) == 1  # the event not fanned out yet, once
            assert fan_out(restored) == 0
            assert send_due(restored) == 2  # the pending one and the new one
            assert send_due(restored) == 0
            alice = bearer(login(target, "alice")["access_token"])
            write(target, alice, "after")  # the restored feed goes on after its events
            fan_out(restored, expect=1)
            assert send_due(restored) == 1
            sent = [got.json["data"]["id"] for got in receiver.received]
            assert sorted(sent) == sorted(
                ["sent-1", "sent-2", "pending", "not-fanned-out", "after"]
            )
            assert all(got.verified for got in receiver.received)  # signed with the restored secret
            messages = [got.message_id for got in receiver.received]
            assert len(set(messages)) == len(messages)
            rows = deliveries_of(restored, endpoint["id"])
            assert [row.status for row in rows] == ["succeeded"] * 5
            # The positions of the events before the backup: the restored feed's (transaction 0).
            assert [row.event_tx for row in rows[:4]] == [0, 0, 0, 0]
            log = target.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=alice).json
            assert len(log["data"]) == 5
