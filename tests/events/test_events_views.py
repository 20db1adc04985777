"""GET /api/v1/events: the feed over HTTP, for administrators."""

from __future__ import annotations

from typing import Any

from benben.testing import feed_settled

EVENTS = "/api/v1/events"


def write_records(app: Any, headers: dict[str, str], count: int) -> None:
    app.put_json("/api/v1/collections/notes", {}, headers=headers, status=201)
    for n in range(count):
        app.post_json("/api/v1/collections/notes/records", {"data": {"n": n}}, headers=headers)
    feed_settled(app.app.registry)


def test_administrators_page_through_the_feed(app, admin_headers):
    write_records(app, admin_headers, 5)
    page = app.get(EVENTS, {"_limit": "3", "collection": "notes"}, headers=admin_headers).json
    assert [event["type"] for event in page["data"]] == ["collection.created"] + [
        "record.created"
    ] * 2
    assert page["position"] == page["data"][-1]["id"]
    rest = app.get(page["next"], headers=admin_headers).json
    assert [event["data"]["data"]["n"] for event in rest["data"]] == [2, 3, 4]
    assert app.get(rest["next"], headers=admin_headers).json["data"] == []
    # A feed has no last page: next is where to poll, the same cursor while nothing follows.
    assert app.get(rest["next"], headers=admin_headers).json["next"] == rest["next"]
    only = app.get(EVENTS, {"type": "collection.created"}, headers=admin_headers).json
    assert [event["data"]["collection"] for event in only["data"]] == ["notes"]


def test_others_may_not_read_the_feed(app, alice_headers):
    app.get(EVENTS, status=401)
    problem = app.get(EVENTS, headers=alice_headers, status=403)
    assert problem.content_type == "application/problem+json"


def test_bad_parameters_are_problems_naming_them(app, admin_headers):
    for params, name in (
        ({"_cursor": "12"}, "_cursor"),
        ({"_cursor": "a-b"}, "_cursor"),
        ({"_limit": "0"}, "_limit"),
        ({"_limit": "1001"}, "_limit"),
        ({"type": "Record"}, "type"),
        ({"collection": "../x"}, "collection"),
        ({"colour": "red"}, "colour"),
    ):
        response = app.get(EVENTS, params, headers=admin_headers, status=400)
        assert response.content_type == "application/problem+json"
        assert [error["name"] for error in response.json["errors"]] == [name], params


def test_a_cursor_behind_retention_is_gone_with_where_to_resume(app, admin_headers, registry):
    import transaction

    from benben.db import get_tm_session, session_factory
    from benben.events.feed import prune

    write_records(app, admin_headers, 2)
    first = app.get(EVENTS, {"_limit": "1"}, headers=admin_headers).json["data"][0]["id"]
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    session = get_tm_session(session_factory(registry), manager)
    prune(session, retention_ms=0, consumer_expiry_ms=1, now=2**62)
    manager.commit()
    session.close()
    problem = app.get(EVENTS, {"_cursor": first}, headers=admin_headers, status=410).json
    assert problem["type"] == "urn:benben:problem:feed-gap"
    resumed = app.get(EVENTS, {"_cursor": problem["resume_at"]}, headers=admin_headers).json
    assert resumed["data"] == []
