"""/api/v1/collections and /api/v1/collections/{cid}: create, read, list, replace, patch, delete."""

from __future__ import annotations

from data_support import COLLECTIONS, pointers, record_url, records_url

SCHEMA = {
    "type": "object",
    "required": ["title"],
    "properties": {"title": {"type": "string"}, "price": {"type": "number", "minimum": 0}},
}


def test_create_read_and_list_a_collection(app, alice):
    body = {
        "id": "books",
        "title": "Books",
        "description": "What we read",
        "schema": SCHEMA,
        "indexed_fields": ["price", "author.name"],
        "permissions": {"read": ["system.Authenticated", "system.Authenticated"]},
    }
    created = app.post_json(COLLECTIONS, body, headers=alice.headers, status=201)
    assert created.headers["Location"] == "http://localhost/api/v1/collections/books"
    collection = created.json
    assert created.headers["ETag"] == f'"{collection["last_modified"]}"'
    assert {k: collection[k] for k in body} == {
        **body,
        "permissions": {"read": ["system.Authenticated"]},
    }
    assert collection["created_by"] == alice.id
    assert collection["record_count"] == 0
    assert collection["created_at"].endswith("Z")

    read = app.get(f"{COLLECTIONS}/books", headers=alice.headers)
    assert read.json == collection
    assert read.headers["ETag"] == created.headers["ETag"]
    listed = app.get(COLLECTIONS, headers=alice.headers).json
    assert listed == {"data": [collection], "next": None}


INVALID_COLLECTIONS = [
    ({}, ["/id"]),
    ({"id": "Upper"}, ["/id"]),
    ({"id": "a" * 65}, ["/id"]),
    ({"id": "ok\n"}, ["/id"]),
    ({"id": 5}, ["/id"]),
    ({"id": "ok", "colour": "red"}, ["/colour"]),
    ({"id": "ok", "title": 5}, ["/title"]),
    ({"id": "ok", "title": "x" * 201}, ["/title"]),
    ({"id": "ok", "title": "bell\x07"}, ["/title"]),
    ({"id": "ok", "description": "nul\x00"}, ["/description"]),
    ({"id": "ok", "schema": "object"}, ["/schema"]),
    ({"id": "ok", "schema": {"type": "objet"}}, ["/schema/type"]),
    (
        {"id": "ok", "schema": {"properties": {"a": {"minimum": "1"}}}},
        ["/schema/properties/a/minimum"],
    ),
    (
        {"id": "ok", "schema": {"properties": {"a": {"pattern": "("}}}},
        ["/schema/properties/a/pattern"],
    ),
    ({"id": "ok", "schema": {"$ref": "https://example.org/s.json"}}, ["/schema/$ref"]),
    ({"id": "ok", "schema": {"$ref": "#/$defs/missing"}}, ["/schema/$ref"]),
    ({"id": "ok", "schema": {"$ref": "#"}}, ["/schema"]),
    (
        {"id": "ok", "schema": {"$schema": "http://evil.example/x"}},
        ["/schema/$schema"],
    ),
    ({"id": "ok", "indexed_fields": ["a..b"]}, ["/indexed_fields/0"]),
    ({"id": "ok", "indexed_fields": ["ok", "id"]}, ["/indexed_fields/1"]),
    ({"id": "ok", "indexed_fields": ["a"] * 2}, ["/indexed_fields"]),
    ({"id": "ok", "indexed_fields": [f"f{i}" for i in range(17)]}, ["/indexed_fields"]),
    ({"id": "ok", "permissions": {"read": ["alice"]}}, ["/permissions/read/0"]),
    ({"id": "ok", "permissions": {"read": ["group:staff\n"]}}, ["/permissions/read/0"]),
    ({"id": "ok", "permissions": {"own": []}}, ["/permissions/own"]),
    ({"id": "ok", "permissions": {"read": "system.Everyone"}}, ["/permissions/read"]),
]


def test_invalid_collections_are_400_with_a_pointer_to_each_problem(app, alice):
    for body, expected in INVALID_COLLECTIONS:
        response = app.post_json(COLLECTIONS, body, headers=alice.headers, status=400)
        assert pointers(response) == expected, response.request.body
        assert response.json["type"] == "urn:benben:problem:validation-error"
        app.get(f"{COLLECTIONS}/ok", headers=alice.headers, status=404)


NOT_JSON_OBJECTS = [
    (b"{", "application/json", 400),
    (b'{"id": NaN}', "application/json", 400),
    (b'{"id": "ok", "title": 1e999}', "application/json", 400),
    # Deep enough to exhaust the parser's recursion, small enough to stay in memory (WebOb
    # spools bodies over 10 KiB to a temporary file).
    (b"[" * 4000 + b"]" * 4000, "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b'"ok"', "application/json", 400),
    (b'{"id": "ok"}', "text/plain", 415),
    (b'{"id": "ok"}', "", 415),
    (b'{"id": "ok"}', "application/x-www-form-urlencoded", 415),
]


def test_bodies_that_are_not_json_objects_never_fail_the_server(app, alice):
    for raw, content_type, status in NOT_JSON_OBJECTS:
        headers = {**alice.headers, "Content-Type": content_type} if content_type else alice.headers
        response = app.post(COLLECTIONS, raw, headers=headers, status=status)
        assert response.content_type == "application/problem+json"
        assert response.json["errors"]


def test_duplicate_id_is_409_and_unknown_query_parameters_are_400(app, alice, bob, notes):
    taken = app.post_json(COLLECTIONS, {"id": "notes"}, headers=bob.headers, status=409)
    assert pointers(taken) == ["/id"]
    response = app.post_json(
        f"{COLLECTIONS}?force=1", {"id": "x"}, headers=alice.headers, status=400
    )
    assert pointers(response) == ["force"]


def test_put_creates_then_replaces_keeping_permissions_left_out(app, alice):
    url = f"{COLLECTIONS}/shop"
    body = {"title": "Shop", "permissions": {"read": ["group:staff"]}}
    created = app.put_json(url, body, headers=alice.headers, status=201)
    assert created.headers["Location"].endswith(url)
    assert created.json["permissions"] == {"read": ["group:staff"]}
    replaced = app.put_json(url, {"description": "New"}, headers=alice.headers, status=200)
    assert replaced.json["title"] == ""  # left out: the default
    assert replaced.json["description"] == "New"
    assert replaced.json["permissions"] == {"read": ["group:staff"]}  # left out: kept
    assert replaced.json["last_modified"] > created.json["last_modified"]
    assert replaced.json["created_at"] == created.json["created_at"]
    assert replaced.json["updated_at"] > created.json["updated_at"]
    wrong = app.put_json(url, {"id": "other"}, headers=alice.headers, status=400)
    assert pointers(wrong) == ["/id"]
    bad_id = app.put_json(f"{COLLECTIONS}/Bad!", {}, headers=alice.headers, status=400)
    assert pointers(bad_id) == ["cid"]


def test_patch_merges_and_json_patches_a_collection(app, alice, notes):
    url = f"{COLLECTIONS}/notes"
    merged = app.patch_json(url, {"title": "Notes", "schema": SCHEMA}, headers=alice.headers)
    assert (merged.json["title"], merged.json["schema"]) == ("Notes", SCHEMA)
    removed = app.patch(
        url,
        b'{"schema": null}',
        headers={**alice.headers, "Content-Type": "application/merge-patch+json"},
    )
    assert removed.json["schema"] is None
    assert removed.json["title"] == "Notes"
    operations = [
        {"op": "test", "path": "/title", "value": "Notes"},
        {"op": "add", "path": "/indexed_fields/-", "value": "due"},
        {"op": "replace", "path": "/description", "value": "Things to do"},
    ]
    patched = app.patch_json(
        url, operations, headers={**alice.headers, "Content-Type": "application/json-patch+json"}
    )
    assert patched.json["indexed_fields"] == ["due"]
    assert patched.json["description"] == "Things to do"
    invalid = app.patch_json(url, {"schema": {"type": 12}}, headers=alice.headers, status=400)
    assert pointers(invalid) == ["/schema/type"]
    unknown = app.patch_json(url, {"owner": "me"}, headers=alice.headers, status=400)
    assert pointers(unknown) == ["/owner"]
    app.patch_json(f"{COLLECTIONS}/nope", {"title": "x"}, headers=alice.headers, status=404)


def test_changing_permissions_needs_admin_other_changes_write(app, alice, bob, notes):
    url = f"{COLLECTIONS}/notes"
    app.patch_json(url, {"permissions": {"write": [bob.principal]}}, headers=alice.headers)
    assert app.patch_json(url, {"title": "By bob"}, headers=bob.headers).json["title"] == "By bob"
    # A writer sees permissions but may not change them, nor delete the collection.
    shown = app.get(url, headers=bob.headers).json
    assert shown["permissions"] == {"write": [bob.principal]}
    refused = app.patch_json(
        url, {"permissions": {"admin": [bob.principal]}}, headers=bob.headers, status=403
    )
    assert pointers(refused) == ["/permissions"]
    app.put_json(url, {"permissions": {}}, headers=bob.headers, status=403)
    app.delete(url, headers=bob.headers, status=403)
    # Re-sending the same permissions is no change.
    app.put_json(url, {"permissions": {"write": [bob.principal]}}, headers=bob.headers)


def test_delete_removes_records_keeps_history_and_frees_the_id(app, alice, bob, notes):
    record = app.post_json(records_url("notes"), {"data": {"a": 1}}, headers=alice.headers).json
    app.delete(f"{COLLECTIONS}/notes", headers=alice.headers, status=204)
    app.get(f"{COLLECTIONS}/notes", headers=alice.headers, status=404)
    app.get(record_url("notes", record["id"]), headers=alice.headers, status=404)
    assert app.get(COLLECTIONS, headers=alice.headers).json["data"] == []
    # Another user may take the id; the previous incarnation's history is not theirs.
    app.post_json(COLLECTIONS, {"id": "notes"}, headers=bob.headers, status=201)
    entries = app.get(f"{COLLECTIONS}/notes/history", headers=bob.headers).json["data"]
    assert [(e["resource"], e["action"]) for e in entries] == [("collection", "create")]
    assert app.get(records_url("notes"), headers=bob.headers).json["data"] == []


def test_dry_run_reports_the_records_a_new_schema_refuses_and_stores_nothing(app, alice, notes):
    url = f"{COLLECTIONS}/notes"
    for rid, data in (
        ("good", {"title": "ok", "price": 3}),
        ("neg", {"title": "x", "price": -1}),
        ("untitled", {"price": "free"}),
    ):
        app.put_json(record_url("notes", rid), {"data": data}, headers=alice.headers, status=201)
    before = app.get(url, headers=alice.headers).json
    report = app.put_json(f"{url}?dry_run=true", {"schema": SCHEMA}, headers=alice.headers).json
    assert report == {
        "dry_run": True,
        "valid": False,
        "checked": 3,
        "failed": 2,
        "truncated": False,
        "failures": [
            {
                "id": "neg",
                "errors": [{"pointer": "/data/price", "message": "must be at least 0"}],
            },
            {
                "id": "untitled",
                "errors": [
                    {"pointer": "/data/price", "message": "must be a number, not a string"},
                    {"pointer": "/data/title", "message": "is required"},
                ],
            },
        ],
    }
    assert app.get(url, headers=alice.headers).json == before
    patched = app.patch_json(
        f"{url}?dry_run=true", {"schema": {"type": "object"}}, headers=alice.headers
    ).json
    assert (patched["valid"], patched["checked"], patched["failed"]) == (True, 3, 0)
    bad = app.put_json(f"{url}?dry_run=yes", {}, headers=alice.headers, status=400)
    assert pointers(bad) == ["dry_run"]
    assert app.get(url, headers=alice.headers).json == before


def test_records_follow_the_schema_set_after_them(app, alice, notes):
    app.put_json(record_url("notes", "old"), {"data": {"n": 1}}, headers=alice.headers)
    app.patch_json(f"{COLLECTIONS}/notes", {"schema": SCHEMA}, headers=alice.headers)
    # Existing records stay as they are; writes must now satisfy the schema.
    assert app.get(record_url("notes", "old"), headers=alice.headers).json["data"] == {"n": 1}
    response = app.put_json(
        record_url("notes", "old"), {"data": {"n": 2}}, headers=alice.headers, status=400
    )
    assert pointers(response) == ["/data/title"]


def test_collection_list_is_filtered_in_the_query_and_paginated(app, admin, alice, bob, carol):
    for cid, permissions in (
        ("a-mine", {}),
        ("b-staff", {"read": ["group:staff"]}),
        ("c-bob", {"create": [bob.principal]}),
        ("d-public", {"read": ["system.Everyone"]}),
        ("e-private", {}),
    ):
        app.post_json(COLLECTIONS, {"id": cid, "permissions": permissions}, headers=alice.headers)

    def ids(headers=None, **params):
        return [c["id"] for c in app.get(COLLECTIONS, params, headers=headers).json["data"]]

    assert ids(alice.headers) == ["a-mine", "b-staff", "c-bob", "d-public", "e-private"]
    assert ids(admin.headers) == ["a-mine", "b-staff", "c-bob", "d-public", "e-private"]
    assert ids(bob.headers) == ["c-bob", "d-public"]
    assert ids(carol.headers) == ["b-staff", "d-public"]
    assert ids() == ["d-public"]
    # Those who may not write do not see permissions.
    assert "permissions" not in app.get(COLLECTIONS, headers=bob.headers).json["data"][0]

    first = app.get(COLLECTIONS, {"_limit": "2"}, headers=alice.headers)
    assert [c["id"] for c in first.json["data"]] == ["a-mine", "b-staff"]
    assert first.headers["Link"] == f'<{first.json["next"]}>; rel="next"'
    second = app.get(first.json["next"], headers=alice.headers).json
    assert [c["id"] for c in second["data"]] == ["c-bob", "d-public"]
    third = app.get(second["next"], headers=alice.headers).json
    assert ([c["id"] for c in third["data"]], third["next"]) == (["e-private"], None)
    for params, name in (
        ({"_limit": "0"}, "_limit"),
        ({"_limit": "1001"}, "_limit"),
        ({"_limit": "²"}, "_limit"),
        ({"_cursor": "!!"}, "_cursor"),
        ({"sort": "id"}, "sort"),
    ):
        response = app.get(COLLECTIONS, params, headers=alice.headers, status=400)
        assert pointers(response) == [name], params


def test_only_configured_principals_create_collections(make_app, backends):
    from data_support import make_user

    from benben.testing_auth import FAST_PASSWORD_HASHING

    app = make_app({**FAST_PASSWORD_HASHING, "benben.data.collection_creators": "group:editors"})
    editor = make_user(app, "eddie", groups=["editors"])
    other = make_user(app, "olga")
    admin = make_user(app, "root", is_admin=True)
    app.post_json(COLLECTIONS, {"id": "ok"}, headers=editor.headers, status=201)
    app.post_json(COLLECTIONS, {"id": "no"}, headers=other.headers, status=403)
    app.put_json(f"{COLLECTIONS}/no", {}, headers=other.headers, status=403)
    app.post_json(COLLECTIONS, {"id": "no"}, status=401)
    app.post_json(COLLECTIONS, {"id": "root"}, headers=admin.headers, status=201)


def test_declared_indexes_follow_the_collection(app, alice, registry):
    from sqlalchemy import text

    from benben.data.indexes import index_name
    from benben.db import get_engine

    def indexes():
        engine = get_engine(registry)
        if engine.dialect.name == "postgresql":
            sql = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'index'"
        with engine.connect() as connection:
            return {name for name in connection.execute(text(sql)).scalars() if "_rq_" in name}

    url = f"{COLLECTIONS}/shop"
    app.put_json(url, {"indexed_fields": ["price", "size.h"]}, headers=alice.headers)
    assert indexes() == {index_name("shop", "price"), index_name("shop", "size.h")}
    app.patch_json(url, {"indexed_fields": ["price", "name"]}, headers=alice.headers)
    assert indexes() == {index_name("shop", "price"), index_name("shop", "name")}
    app.delete(url, headers=alice.headers, status=204)
    assert indexes() == set()
