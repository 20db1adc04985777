"""Who may change permissions: a record's need the collection's admin or being its creator, a
collection's its admin; ``write`` grants and ``write``-scoped tokens change data only.  Every
path that can set permissions is refused the same way (403 at /permissions), storing nothing."""

from __future__ import annotations

import json

import pytest
from batch_support import BATCH, history
from data_support import COLLECTIONS, make_user, pointers, record_url, records_url

from benben.testing_auth import bearer

NOTES = f"{COLLECTIONS}/notes"
SHARED = record_url("notes", "shared")
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
OPEN = {"read": ["system.Everyone"]}


@pytest.fixture
def shared(app, alice, bob, notes):
    """alice's record "shared", which bob may write (a record-level grant only)."""
    body = {"data": {"text": "v1"}, "permissions": {"write": [bob.principal]}}
    return app.put_json(SHARED, body, headers=alice.headers, status=201).json


def token(app, user, *scopes):
    body = {"name": "-".join(scopes), "scopes": list(scopes)}
    return bearer(app.post_json("/api/v1/tokens", body, headers=user.headers).json["token"])


def attempts(permissions):
    """``(method, body, content type)``: each way a request can set ``permissions`` while
    changing data too."""
    return [
        ("PUT", {"data": {"text": "v2"}, "permissions": permissions}, "application/json"),
        ("PATCH", {"data": {"text": "v2"}, "permissions": permissions}, MERGE),
        (
            "PATCH",
            [
                {"op": "add", "path": "/data/text", "value": "v2"},
                {"op": "replace", "path": "/permissions", "value": permissions},
            ],
            JSON_PATCH,
        ),
    ]


def send(app, method, url, body, content_type, headers, status):
    return app.request(
        url,
        method=method,
        body=json.dumps(body).encode(),
        headers={**headers, "Content-Type": content_type},
        status=status,
    )


def assert_refused(response, *, pointer="/permissions"):
    assert response.status_code == 403
    assert pointers(response) == [pointer]
    assert "Nothing was stored" in response.json["detail"]


def test_a_record_writer_changes_data_but_not_permissions(app, alice, bob, shared):
    before = app.get(SHARED, headers=alice.headers).json
    for method, body, content_type in attempts({**OPEN, "write": [bob.principal]}):
        refused = send(app, method, SHARED, body, content_type, bob.headers, 403)
        assert_refused(refused)
        assert (
            "the collection's admin permission, or being the record's creator"
            in refused.json["detail"]
        )
        assert app.get(SHARED, headers=alice.headers).json == before  # data untouched too
    app.get(SHARED, status=401)  # still closed to anonymous callers
    # Data alone, or the permissions sent back unchanged (reordered, duplicated): allowed.
    same = {"write": [bob.principal, bob.principal]}
    app.put_json(SHARED, {"data": {"text": "v3"}, "permissions": same}, headers=bob.headers)
    app.patch_json(SHARED, {"data": {"text": "v4"}}, headers=bob.headers)
    after = app.get(SHARED, headers=alice.headers).json
    assert after["data"] == {"text": "v4"}
    assert after["permissions"] == {"write": [bob.principal]}


def test_a_batch_cannot_change_permissions_a_request_could_not(app, alice, bob, shared):
    before = app.get(SHARED, headers=alice.headers).json
    log = history(app, alice)
    requests = [
        {"method": "PUT", "path": SHARED, "body": {"data": {"text": "batched"}}},
        {
            "method": "PATCH",
            "path": SHARED,
            "body": [{"op": "add", "path": "/permissions/read", "value": ["system.Everyone"]}],
            "headers": {"Content-Type": JSON_PATCH},
        },
    ]
    refused = app.post_json(BATCH, {"requests": requests}, headers=bob.headers, status=403)
    assert refused.json["operation"] == 1
    assert pointers(refused) == ["/requests/1/body/permissions"]
    # All or nothing: the first operation's data change was rolled back with it.
    assert app.get(SHARED, headers=alice.headers).json == before
    assert history(app, alice) == log
    # The record's creator may.
    done = app.post_json(BATCH, {"requests": requests}, headers=alice.headers).json
    assert done["responses"][1]["body"]["permissions"]["read"] == ["system.Everyone"]
    assert app.get(SHARED).json["data"] == {"text": "batched"}


def test_the_creator_and_collection_admins_change_a_records_permissions(
    app, alice, bob, carol, notes
):
    dave = make_user(app, "dave")
    body = {"permissions": {"create": [bob.principal], "write": [dave.principal]}}
    app.patch_json(NOTES, body, headers=alice.headers)
    # bob may only create: he becomes the creator, and sets his record's permissions.
    created = app.post_json(
        records_url("notes"), {"data": {}, "permissions": OPEN}, headers=bob.headers, status=201
    ).json
    url = record_url("notes", created["id"])
    assert created["permissions"] == OPEN
    put = {"data": {}, "permissions": {"write": [carol.principal]}}
    app.put_json(record_url("notes", "b2"), put, headers=bob.headers, status=201)
    app.patch_json(url, {"permissions": {"read": [carol.principal]}}, headers=bob.headers)
    # dave writes every record of the collection, yet may not open one up.
    for method, body, content_type in attempts(OPEN):
        assert_refused(send(app, method, url, body, content_type, dave.headers, 403))
    app.patch_json(url, {"data": {"by": "dave"}}, headers=dave.headers)
    # alice created the collection: she administers it, and so every record's permissions.
    patch = [{"op": "add", "path": "/permissions/write", "value": [dave.principal]}]
    send(app, "PATCH", url, patch, JSON_PATCH, alice.headers, 200)
    # An admin grant of the collection (here through a group) does the same.
    app.patch_json(NOTES, {"permissions": {"admin": ["group:staff"]}}, headers=alice.headers)
    app.patch_json(url, {"permissions": {"write": None}}, headers=carol.headers)
    assert app.get(url, headers=alice.headers).json["permissions"] == {"read": [carol.principal]}


def test_collection_permissions_need_its_admin(app, alice, bob, notes):
    dave = make_user(app, "dave")
    app.patch_json(NOTES, {"permissions": {"write": [dave.principal]}}, headers=alice.headers)
    before = app.get(NOTES, headers=alice.headers).json
    for method, body, content_type in (
        ("PUT", {"title": "t", "permissions": OPEN}, "application/json"),
        ("PATCH", {"title": "t", "permissions": OPEN}, MERGE),
        (
            "PATCH",
            [{"op": "add", "path": "/permissions/read", "value": ["group:staff"]}],
            JSON_PATCH,
        ),
    ):
        refused = send(app, method, NOTES, body, content_type, dave.headers, 403)
        assert_refused(refused)
        assert "needs its admin permission" in refused.json["detail"]
    assert app.get(NOTES, headers=alice.headers).json == before
    app.patch_json(NOTES, {"title": "by dave"}, headers=dave.headers)  # data: allowed


def test_a_write_token_changes_data_but_never_permissions(app, alice, shared):
    writer = token(app, alice, "write")
    before = app.get(SHARED, headers=alice.headers).json
    for method, body, content_type in attempts(OPEN):
        refused = send(app, method, SHARED, body, content_type, writer, 403)
        assert_refused(refused)
        assert "scopes (write)" in refused.json["detail"]
        assert "admin scope" in refused.json["detail"]
    assert app.get(SHARED, headers=alice.headers).json == before
    # Creating with permissions is setting them: refused too, for records and collections.
    with_permissions = {"data": {}, "permissions": OPEN}
    app.post_json(records_url("notes"), with_permissions, headers=writer, status=403)
    app.put_json(record_url("notes", "new"), with_permissions, headers=writer, status=403)
    app.post_json(COLLECTIONS, {"id": "t1", "permissions": OPEN}, headers=writer, status=403)
    app.put_json(f"{COLLECTIONS}/t2", {"permissions": OPEN}, headers=writer, status=403)
    app.get(f"{COLLECTIONS}/t1", headers=alice.headers, status=404)
    app.get(f"{COLLECTIONS}/t2", headers=alice.headers, status=404)
    requests = [{"method": "PUT", "path": SHARED, "body": {"data": {}, "permissions": OPEN}}]
    app.post_json(BATCH, {"requests": requests}, headers=writer, status=403)
    # Data only: fine, with the write token.
    app.post_json(records_url("notes"), {"data": {}}, headers=writer, status=201)
    app.post_json(COLLECTIONS, {"id": "t3"}, headers=writer, status=201)
    app.put_json(SHARED, {"data": {"text": "token"}}, headers=writer)
    # The admin scope (and a login session) may do what the owner may.
    app.put_json(SHARED, {"data": {}, "permissions": OPEN}, headers=token(app, alice, "admin"))
    app.patch_json(SHARED, {"permissions": {"read": None}}, headers=alice.headers)
    app.get(SHARED, status=401)


def test_the_admin_scope_is_not_more_than_its_owner(app, alice, bob, shared):
    bobs = token(app, bob, "admin")
    refused = app.patch_json(SHARED, {"permissions": OPEN}, headers=bobs, status=403)
    assert "being the record's creator" in refused.json["detail"]
