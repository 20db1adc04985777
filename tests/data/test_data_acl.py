"""Who may do what: collection grants, record grants, creators, admins, strangers, anonymous."""

from __future__ import annotations

import pytest
from data_support import COLLECTIONS, record_url, records_url

from benben.testing_auth import bearer

NOTES = f"{COLLECTIONS}/notes"
HISTORY = f"{NOTES}/history"


@pytest.fixture
def note(app, alice, notes):
    """A record of alice's in notes."""
    return app.put_json(
        record_url("notes", "n1"), {"data": {"text": "alice's"}}, headers=alice.headers
    ).json


def grant(app, alice, **permissions):
    app.patch_json(NOTES, {"permissions": permissions}, headers=alice.headers)


def test_a_stranger_sees_nothing_not_even_existence(app, alice, bob, note):
    hidden = [
        ("get", NOTES),
        ("get", records_url("notes")),
        ("get", record_url("notes", "n1")),
        ("get", record_url("notes", "missing")),
        ("get", HISTORY),
        ("delete", NOTES),
        ("delete", record_url("notes", "n1")),
    ]
    for method, url in hidden:
        response = getattr(app, method)(url, headers=bob.headers, status=404)
        assert response.json["detail"] == f"No resource at {url}."
    for method, url, body in (
        ("post_json", records_url("notes"), {"data": {}}),
        ("put_json", record_url("notes", "n1"), {"data": {}}),
        ("put_json", record_url("notes", "new"), {"data": {}}),
        ("patch_json", record_url("notes", "n1"), {"data": {}}),
        ("patch_json", NOTES, {"title": "mine"}),
    ):
        getattr(app, method)(url, body, headers=bob.headers, status=404)
    # The id of a collection is global: one who may create collections learns it is taken.
    app.put_json(NOTES, {"title": "mine"}, headers=bob.headers, status=403)
    taken = app.put_json(NOTES, {}, headers={**bob.headers, "If-None-Match": "*"}, status=412)
    assert "ETag" not in taken.headers  # that it exists, and nothing more
    assert app.get(NOTES, headers=alice.headers).json["title"] == ""


def test_anonymous_callers_are_asked_to_log_in(app, note):
    for url in (
        NOTES,
        records_url("notes"),
        record_url("notes", "n1"),
        HISTORY,
        record_url("notes", "missing"),
        f"{COLLECTIONS}/missing",
    ):
        response = app.get(url, status=401)
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="benben"'
    app.post_json(records_url("notes"), {"data": {}}, status=401)
    app.put_json(record_url("notes", "x"), {"data": {}}, status=401)
    app.post_json(COLLECTIONS, {"id": "anon"}, status=401)
    assert app.get(COLLECTIONS).json["data"] == []
    # A bad credential is a 401 too, never an anonymous answer.
    app.get(NOTES, headers=bearer("forged"), status=401)


def test_administrators_may_do_anything(app, admin, note):
    assert app.get(NOTES, headers=admin.headers).json["permissions"] == {}
    app.put_json(record_url("notes", "n1"), {"data": {"by": "admin"}}, headers=admin.headers)
    app.get(HISTORY, headers=admin.headers)
    app.patch_json(NOTES, {"permissions": {"read": ["group:staff"]}}, headers=admin.headers)
    app.delete(NOTES, headers=admin.headers, status=204)


def test_readers_through_a_group_read_everything_and_change_nothing(app, alice, carol, note):
    grant(app, alice, read=["group:staff"])
    collection = app.get(NOTES, headers=carol.headers).json
    assert "permissions" not in collection
    listed = app.get(records_url("notes"), headers=carol.headers).json["data"]
    assert [r["id"] for r in listed] == ["n1"]
    assert "permissions" not in listed[0]
    record = app.get(record_url("notes", "n1"), headers=carol.headers).json
    assert "permissions" not in record
    assert app.get(HISTORY, headers=carol.headers).json["data"]
    app.post_json(records_url("notes"), {"data": {}}, headers=carol.headers, status=403)
    app.put_json(record_url("notes", "n1"), {"data": {}}, headers=carol.headers, status=403)
    app.put_json(record_url("notes", "new"), {"data": {}}, headers=carol.headers, status=403)
    app.delete(record_url("notes", "n1"), headers=carol.headers, status=403)
    app.patch_json(NOTES, {"title": "x"}, headers=carol.headers, status=403)
    app.get(record_url("notes", "missing"), headers=carol.headers, status=404)


def test_creators_see_and_write_only_their_own_records(app, alice, bob, note):
    grant(app, alice, create=[bob.principal])
    mine = app.post_json(records_url("notes"), {"data": {"text": "bob's"}}, headers=bob.headers)
    assert mine.status_code == 201
    assert mine.json["permissions"] == {}  # its creator may write it: he sees its permissions
    app.put_json(record_url("notes", "b2"), {"data": {}}, headers=bob.headers, status=201)
    listed = app.get(records_url("notes"), headers=bob.headers).json["data"]
    assert sorted(r["id"] for r in listed) == sorted([mine.json["id"], "b2"])
    app.get(record_url("notes", "n1"), headers=bob.headers, status=404)
    # alice's id is taken: bob may not replace it (and learns only that it exists).
    app.put_json(record_url("notes", "n1"), {"data": {}}, headers=bob.headers, status=403)
    taken = app.put_json(
        record_url("notes", "n1"),
        {"data": {}},
        headers={**bob.headers, "If-None-Match": "*"},
        status=412,
    )
    assert "ETag" not in taken.headers
    app.patch_json(record_url("notes", "b2"), {"data": {"v": 2}}, headers=bob.headers)
    app.delete(record_url("notes", "b2"), headers=bob.headers)
    app.get(HISTORY, headers=bob.headers, status=403)
    # The collection's owner reads and writes all of them.
    everything = app.get(records_url("notes"), headers=alice.headers).json["data"]
    assert len(everything) == 2
    app.delete(record_url("notes", mine.json["id"]), headers=alice.headers)


def test_record_grants_open_one_record_only(app, alice, bob, carol, note):
    app.put_json(
        record_url("notes", "shared"),
        {
            "data": {"text": "for bob"},
            "permissions": {"read": ["group:staff"], "write": [bob.principal]},
        },
        headers=alice.headers,
    )
    assert app.get(record_url("notes", "shared"), headers=carol.headers).json["data"] == {
        "text": "for bob"
    }
    assert "permissions" not in app.get(record_url("notes", "shared"), headers=carol.headers).json
    app.put_json(record_url("notes", "shared"), {"data": {}}, headers=carol.headers, status=403)
    written = app.put_json(
        record_url("notes", "shared"), {"data": {"text": "by bob"}}, headers=bob.headers
    ).json
    assert written["permissions"] == {"read": ["group:staff"], "write": [bob.principal]}
    app.get(record_url("notes", "n1"), headers=bob.headers, status=404)
    # Without a collection permission, the collection itself stays hidden.
    app.get(NOTES, headers=bob.headers, status=404)
    app.get(records_url("notes"), headers=bob.headers, status=404)
    # A writer changes data only: taking the grant back is for the record's creator (or an
    # admin of the collection).
    app.patch_json(
        record_url("notes", "shared"),
        {"permissions": {"read": None}},
        headers=bob.headers,
        status=403,
    )
    app.patch_json(
        record_url("notes", "shared"), {"permissions": {"read": None}}, headers=alice.headers
    )
    app.get(record_url("notes", "shared"), headers=carol.headers, status=404)
    app.delete(record_url("notes", "shared"), headers=bob.headers)


def test_record_grants_filter_lists_for_those_who_see_the_collection(app, alice, bob, note):
    grant(app, alice, create=[bob.principal])
    app.put_json(
        record_url("notes", "for-bob"),
        {"data": {}, "permissions": {"read": [bob.principal]}},
        headers=alice.headers,
    )
    listed = app.get(records_url("notes"), headers=bob.headers).json["data"]
    assert [r["id"] for r in listed] == ["for-bob"]
    assert "permissions" not in listed[0]


def test_everyone_grants_open_the_collection_to_anonymous_callers(app, alice, note):
    grant(app, alice, read=["system.Everyone"], create=["system.Everyone"])
    assert app.get(record_url("notes", "n1")).json["data"] == {"text": "alice's"}
    assert [r["id"] for r in app.get(records_url("notes")).json["data"]] == ["n1"]
    assert [c["id"] for c in app.get(COLLECTIONS).json["data"]] == ["notes"]
    created = app.post_json(records_url("notes"), {"data": {"anon": True}}, status=201).json
    assert created["created_by"] is None
    # Nobody owns an anonymous record: anonymous callers cannot change it afterwards.
    app.put_json(record_url("notes", created["id"]), {"data": {}}, status=401)
    app.get(record_url("notes", "missing"), status=404)
    app.put_json(record_url("notes", "n1"), {"data": {}}, status=401)
    app.delete(NOTES, status=401)


def test_authenticated_grants_and_write_implies_create(app, alice, bob, carol, note):
    grant(app, alice, write=["system.Authenticated"])
    app.put_json(record_url("notes", "n1"), {"data": {"v": "bob"}}, headers=bob.headers)
    app.post_json(records_url("notes"), {"data": {}}, headers=carol.headers, status=201)
    app.patch_json(NOTES, {"title": "Shared"}, headers=bob.headers)
    app.delete(NOTES, headers=bob.headers, status=403)


def test_api_token_scopes_limit_what_a_grant_allows(app, alice, note):
    token = app.post_json(
        "/api/v1/tokens", {"name": "ro", "scopes": ["read"]}, headers=alice.headers
    ).json["token"]
    app.get(record_url("notes", "n1"), headers=bearer(token))
    response = app.put_json(
        record_url("notes", "n1"), {"data": {}}, headers=bearer(token), status=403
    )
    assert "scopes" in response.json["detail"]
    writer = app.post_json(
        "/api/v1/tokens", {"name": "rw", "scopes": ["write"]}, headers=alice.headers
    ).json["token"]
    app.put_json(record_url("notes", "n1"), {"data": {}}, headers=bearer(writer))
    app.patch_json(NOTES, {"title": "ok"}, headers=bearer(writer))
    app.patch_json(
        NOTES, {"permissions": {"read": ["group:staff"]}}, headers=bearer(writer), status=403
    )
    app.delete(NOTES, headers=bearer(writer), status=403)
