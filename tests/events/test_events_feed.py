"""Every committed change is an event, written in the change's transaction, read in order."""

from __future__ import annotations

from typing import Any

import pytest

from benben.db import get_engine
from benben.events.event import START, FeedPosition
from benben.events.feed import latest_position, read_events
from benben.testing import feed_settled

RECORDS = "/api/v1/collections/notes/records"


def feed(app: Any, after: FeedPosition = START, **kwargs: Any) -> list[Any]:
    feed_settled(app.app.registry)
    with get_engine(app.app.registry).connect() as connection:
        return read_events(connection, after, limit=1000, **kwargs)


def now(app: Any) -> FeedPosition:
    feed_settled(app.app.registry)
    with get_engine(app.app.registry).connect() as connection:
        return latest_position(connection)


def types(events: list[Any]) -> list[str]:
    return [event.type for event in events]


def test_each_data_change_is_one_event_in_order(app, alice_headers):
    start = now(app)
    app.put_json("/api/v1/collections/notes", {}, headers=alice_headers, status=201)
    created = app.post_json(RECORDS, {"data": {"n": 1}}, headers=alice_headers).json
    url = f"{RECORDS}/{created['id']}"
    app.patch_json(url, {"data": {"n": 2}}, headers=alice_headers)
    app.put_json(f"{RECORDS}/r2", {"data": {"n": 3}}, headers=alice_headers, status=201)
    app.delete(url, headers=alice_headers)
    events = feed(app, start)
    assert types(events) == [
        "collection.created",
        "record.created",
        "record.updated",
        "record.created",
        "record.deleted",
    ]
    positions = [event.position for event in events]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
    first = events[1].payload()
    assert first["type"] == "record.created"
    assert first["id"] == str(events[1].position)
    assert first["data"]["collection"] == "notes"
    assert first["data"]["id"] == created["id"]
    assert first["data"]["data"] == {"n": 1}
    assert first["data"]["last_modified"] == created["last_modified"]
    assert first["actor"] == events[0].actor is not None
    assert events[2].data["data"] == {"n": 2}
    assert events[4].data is None
    assert events[4].record_id == created["id"]


def test_a_refused_or_failed_write_leaves_no_event(app, alice_headers):
    app.put_json("/api/v1/collections/notes", {"schema": {"type": "object",
                 "required": ["n"]}}, headers=alice_headers, status=201)  # fmt: skip
    before = now(app)
    app.post_json(RECORDS, {"data": {}}, headers=alice_headers, status=400)
    app.post_json("/api/v1/batch", {"requests": [
        {"method": "POST", "path": RECORDS, "body": {"data": {"n": 1}}},
        {"method": "POST", "path": RECORDS, "body": {"data": {}}},
    ]}, headers=alice_headers, status=400)  # fmt: skip
    assert feed(app, before) == []


def test_permission_changes_are_their_own_events(app, alice_headers):
    app.put_json("/api/v1/collections/notes", {}, headers=alice_headers, status=201)
    app.put_json(f"{RECORDS}/r1", {"data": {}}, headers=alice_headers, status=201)
    start = now(app)
    app.patch_json(
        "/api/v1/collections/notes",
        {"permissions": {"read": ["system.Authenticated"]}},
        headers=alice_headers,
    )
    app.patch_json(
        f"{RECORDS}/r1", {"permissions": {"read": ["system.Everyone"]}}, headers=alice_headers
    )
    events = feed(app, start)
    assert types(events) == [
        "collection.updated",
        "collection.permissions_changed",
        "record.updated",
        "record.permissions_changed",
    ]
    assert events[1].data == {"permissions": {"read": ["system.Authenticated"]}, "previous": {}}
    assert events[3].data["permissions"] == {"read": ["system.Everyone"]}


def test_users_and_groups_changes_are_events(app, admin_headers):
    start = now(app)
    user = app.post_json(
        "/api/v1/users", {"username": "dora", "password": "a long passphrase 1"},
        headers=admin_headers, status=201,
    ).json  # fmt: skip
    app.patch_json(f"/api/v1/users/{user['id']}", {"is_active": False}, headers=admin_headers)
    group = app.post_json("/api/v1/groups", {"name": "staff"}, headers=admin_headers).json
    app.put(f"/api/v1/groups/{group['id']}/members/{user['id']}", headers=admin_headers)
    app.delete(f"/api/v1/groups/{group['id']}/members/{user['id']}", headers=admin_headers)
    app.delete(f"/api/v1/users/{user['id']}", headers=admin_headers)
    events = feed(app, start)
    assert types(events) == [
        "user.created",
        "user.deactivated",
        "group.created",
        "group.member_added",
        "group.member_removed",
        "user.deleted",
    ]
    assert events[0].data["user"]["username"] == "dora"
    assert "password_hash" not in str(events[0].data)
    assert events[1].data["changed"] == ["is_active"]
    assert events[3].data == {"group": {"id": group["id"], "name": "staff"},
                              "user": {"id": user["id"]}}  # fmt: skip


def test_a_listener_hears_committed_events_only(make_app, alice_headers):
    heard: list[str] = []

    def listen(event: Any, request: Any) -> None:
        heard.append(event.type)

    def boom(event: Any, request: Any) -> None:
        raise RuntimeError("a listener failing changes nothing")

    from benben.config import configure
    from benben.router import make_router

    app = make_app()
    registry = app.app.registry
    config = configure(dict(registry.settings))
    config.add_event_listener(boom, "record.*")
    config.add_event_listener(listen, "record.*", "collection.created")
    config.commit()
    import webtest

    listening = webtest.TestApp(make_router(config))
    try:
        listening.put_json("/api/v1/collections/notes", {}, headers=alice_headers, status=201)
        listening.post_json(RECORDS, {"data": {}}, headers=alice_headers, status=201)
        listening.post_json(RECORDS, {"data": {}, "x": 1}, headers=alice_headers, status=400)
    finally:
        get_engine(config.registry).dispose()
    assert heard == ["collection.created", "record.created"]


@pytest.mark.parametrize("enabled", ["false"])
def test_the_feed_can_be_turned_off(make_app, enabled):
    from benben.testing_auth import add_user, bearer, login

    app = make_app({"benben.events.enabled": enabled})
    add_user(app.app.registry, "eve")
    headers = bearer(login(app, "eve")["access_token"])
    app.put_json("/api/v1/collections/notes", {}, headers=headers, status=201)
    app.post_json(RECORDS, {"data": {}}, headers=headers, status=201)
    assert feed(app) == []


def test_publish_writes_with_the_transaction_or_not_at_all(app):
    from pyramid.scripting import prepare

    from benben.events.feed import publish

    for outcome in ("abort", "commit"):
        environment = prepare(registry=app.app.registry)
        request = environment["request"]
        request.tm.begin()
        publish(request, "test.thing", {"outcome": outcome})
        getattr(request.tm, outcome)()
        environment["closer"]()
    events = feed(app, types=["test.thing"])
    assert [event.data for event in events] == [{"outcome": "commit"}]
    assert events[0].actor is None
