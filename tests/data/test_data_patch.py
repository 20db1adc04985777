"""PATCH of records: merge patches (RFC 7396) and JSON Patches (RFC 6902), validated results."""

from __future__ import annotations

import pytest
from data_support import COLLECTIONS, pointers, record_url

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
SCHEMA = {
    "type": "object",
    "required": ["title"],
    "properties": {"title": {"type": "string"}, "stock": {"type": "integer", "minimum": 0}},
}


@pytest.fixture
def item(app, alice):
    app.post_json(COLLECTIONS, {"id": "shop", "schema": SCHEMA}, headers=alice.headers)
    body = {
        "data": {"title": "Mug", "stock": 3, "tags": ["kitchen"], "size": {"h": 10, "w": 8}},
        "permissions": {"read": ["group:staff"]},
    }
    return app.put_json(record_url("shop", "mug"), body, headers=alice.headers)


def patch(app, user, raw_or_json, content_type, status=200):
    headers = {**user.headers, "Content-Type": content_type}
    if isinstance(raw_or_json, bytes):
        return app.patch(record_url("shop", "mug"), raw_or_json, headers=headers, status=status)
    return app.patch_json(record_url("shop", "mug"), raw_or_json, headers=headers, status=status)


def test_merge_patch_changes_members_and_null_removes(app, alice, item):
    for content_type in (MERGE, "application/json"):
        response = patch(
            app, alice, {"data": {"stock": 2, "size": {"w": None}, "tags": None}}, content_type
        )
        assert response.json["data"] == {"title": "Mug", "stock": 2, "size": {"h": 10}}
        assert response.json["permissions"] == {"read": ["group:staff"]}
        assert response.json["last_modified"] > item.json["last_modified"]
    cleared = patch(app, alice, {"permissions": {"read": None}}, MERGE)
    assert cleared.json["permissions"] == {}


def test_json_patch_paths_point_into_data_and_permissions(app, alice, bob, item):
    operations = [
        {"op": "test", "path": "/data/stock", "value": 3},
        {"op": "replace", "path": "/data/stock", "value": 4},
        {"op": "add", "path": "/data/tags/-", "value": "gift"},
        {"op": "move", "from": "/data/size/h", "path": "/data/height"},
        {"op": "copy", "from": "/data/title", "path": "/data/name"},
        {"op": "remove", "path": "/data/size"},
        {"op": "add", "path": "/permissions/write", "value": [bob.principal]},
    ]
    response = patch(app, alice, operations, JSON_PATCH)
    assert response.json["data"] == {
        "title": "Mug",
        "stock": 4,
        "tags": ["kitchen", "gift"],
        "height": 10,
        "name": "Mug",
    }
    assert response.json["permissions"] == {"read": ["group:staff"], "write": [bob.principal]}
    # The write grant works at once.
    patch(app, bob, [{"op": "replace", "path": "/data/stock", "value": 5}], JSON_PATCH)


JSON_PATCH_REFUSALS = [
    ([{"op": "test", "path": "/data/stock", "value": 4}], 409, ["/0"]),
    ([{"op": "test", "path": "/data/stock", "value": True}], 409, ["/0"]),
    ([{"op": "test", "path": "/data/missing", "value": 1}], 409, ["/0"]),
    (
        [
            {"op": "replace", "path": "/data/stock", "value": 1},
            {"op": "remove", "path": "/data/nothing"},
        ],
        409,
        ["/1"],
    ),
    ([{"op": "add", "path": "/data/tags/9", "value": "x"}], 409, ["/0"]),
    ([{"op": "replace", "path": "/id", "value": "other"}], 400, ["/0/path"]),
    ([{"op": "remove", "path": ""}], 400, ["/0/path"]),
    ([{"op": "copy", "from": "/last_modified", "path": "/data/x"}], 400, ["/0/from"]),
    ([{"op": "add", "path": "data/x", "value": 1}], 400, ["/0/path"]),
    ([{"op": "add", "path": "/data/~2", "value": 1}], 400, ["/0/path"]),
    ([{"op": "jump", "path": "/data/x"}], 400, ["/0/op"]),
    ([{"op": "add", "path": "/data/x"}], 400, ["/0/value"]),
    ([{"op": "move", "path": "/data/x"}], 400, ["/0/from"]),
    ([{"op": "add", "path": "/data/x", "value": 1, "extra": 2}], 400, ["/0/extra"]),
    ({"data": {}}, 400, [""]),
    ([{"op": "remove", "path": "/data/title"}], 400, ["/data/title"]),
    ([{"op": "replace", "path": "/data/stock", "value": -1}], 400, ["/data/stock"]),
    ([{"op": "replace", "path": "/data", "value": []}], 400, ["/data"]),
    ([{"op": "remove", "path": "/data"}], 400, ["/data"]),
    (
        [{"op": "add", "path": "/permissions/read/-", "value": "nobody"}],
        400,
        ["/permissions/read/1"],
    ),
    ([{"op": "add", "path": "/permissions/own", "value": []}], 400, ["/permissions/own"]),
]


def test_json_patch_refusals_point_at_the_operation_or_the_result(app, alice, item):
    for (
        operations,
        status,
        expected,
    ) in JSON_PATCH_REFUSALS:
        response = patch(app, alice, operations, JSON_PATCH, status=status)
        assert pointers(response) == expected, response.request.body
        current = app.get(record_url("shop", "mug"), headers=alice.headers)
        assert current.headers["ETag"] == item.headers["ETag"]  # nothing stored


MERGE_PATCH_REFUSALS = [
    ({"data": {"stock": -2}}, MERGE, 400, ["/data/stock"]),
    ({"data": {"title": None}}, MERGE, 400, ["/data/title"]),
    ({"data": None}, MERGE, 400, ["/data"]),
    ({"data": 5}, MERGE, 400, ["/data"]),
    ({"id": "x"}, MERGE, 400, ["/id"]),
    ({"permissions": {"read": ["bad one"]}}, MERGE, 400, ["/permissions/read/0"]),
    ([{"op": "test", "path": "/data/stock", "value": 3}], MERGE, 400, [""]),
    ({"data": {}}, "text/plain", 415, ["Content-Type"]),
    (b'{"data": {"stock": NaN}}', MERGE, 400, [""]),
    (b"", MERGE, 400, [""]),
]


def test_merge_patch_refusals(app, alice, item):
    for body, content_type, status, expected in MERGE_PATCH_REFUSALS:
        response = patch(app, alice, body, content_type, status=status)
        assert pointers(response) == expected, response.request.body
        assert (
            app.get(record_url("shop", "mug"), headers=alice.headers).headers["ETag"]
            == (item.headers["ETag"])
        )


def test_415_names_the_accepted_patch_formats(app, alice, item):
    response = patch(app, alice, b"x", "application/xml", status=415)
    assert MERGE in response.headers["Accept-Patch"]
    assert JSON_PATCH in response.json["detail"]


def test_a_patch_cannot_copy_a_record_beyond_its_size_limit(app, alice, item):
    copies = [{"op": "copy", "from": "/data", "path": f"/data/c{i}"} for i in range(40)]
    response = patch(app, alice, copies, JSON_PATCH, status=413)
    assert pointers(response)[0].startswith("/")
    assert response.json["type"] == "urn:benben:problem:too-large"


# The Content-Type decides what a PATCH body is, never its shape (issue #14): each mismatch is a
# 400 whose message names the media type and the shape it expects.
SHAPE_MISMATCHES = [
    (
        {"data": {"stock": 1}},
        JSON_PATCH,
        "a JSON Patch (application/json-patch+json) body is an array of operations; this one "
        f"is an object (send a merge patch as {MERGE})",
    ),
    (
        [{"op": "replace", "path": "/data/stock", "value": 1}],
        MERGE,
        f"a merge patch ({MERGE}) body is an object; this one is an array (send a JSON Patch "
        f"as {JSON_PATCH})",
    ),
    (
        [{"op": "replace", "path": "/data/stock", "value": 1}],
        "application/json",
        "a merge patch (sent as application/json) body is an object; this one is an array",
    ),
    (None, MERGE, "body is an object; this one is null"),
    (b"", JSON_PATCH, "the body is empty; a JSON Patch (application/json-patch+json) body is"),
    (b"", MERGE, f"the body is empty; a merge patch ({MERGE}) body is an object"),
    ("text", JSON_PATCH, "array of operations; this one is a string"),
]


def test_the_media_type_decides_what_a_patch_is(app, alice, item):
    for body, content_type, expected in SHAPE_MISMATCHES:
        response = patch(app, alice, body, content_type, status=400)
        (error,) = response.json["errors"]
        assert error["pointer"] == ""
        assert error["message"].startswith(expected) or expected in error["message"], body
        assert expected in response.json["detail"]
    current = app.get(record_url("shop", "mug"), headers=alice.headers)
    assert current.headers["ETag"] == item.headers["ETag"]
    # A collection's PATCH follows the same rule.
    response = app.patch_json(
        f"{COLLECTIONS}/shop",
        {"title": "Shop"},
        headers={**alice.headers, "Content-Type": JSON_PATCH},
        status=400,
    )
    assert "application/json-patch+json" in response.json["errors"][0]["message"]
    response = app.patch_json(
        f"{COLLECTIONS}/shop",
        [{"op": "replace", "path": "/title", "value": "Shop"}],
        headers={**alice.headers, "Content-Type": MERGE},
        status=400,
    )
    assert "this one is an array" in response.json["errors"][0]["message"]


def test_a_wrong_operation_is_told_in_json_patch_terms(app, alice, item):
    response = patch(app, alice, [{"op": "put", "path": "/data/stock"}], JSON_PATCH, status=400)
    messages = {e["pointer"]: e["message"] for e in response.json["errors"]}
    assert messages["/0/op"].startswith('must be one of "add", "remove", "replace"')


def test_a_batch_patch_follows_its_own_content_type(app, alice, item):
    operation = {
        "method": "PATCH",
        "path": record_url("shop", "mug"),
        "body": [{"op": "replace", "path": "/data/stock", "value": 7}],
    }
    # No Content-Type: application/json, a merge patch, which an array is not.
    response = app.post_json("/api/v1/batch", {"requests": [operation]}, headers=alice.headers,
                             status=400)  # fmt: skip
    (error,) = response.json["errors"]
    assert error["pointer"] == "/requests/0/body"
    assert "(sent as application/json) body is an object; this one is an array" in error["message"]
    operation["headers"] = {"Content-Type": JSON_PATCH}
    response = app.post_json("/api/v1/batch", {"requests": [operation]}, headers=alice.headers)
    assert response.json["responses"][0]["body"]["data"]["stock"] == 7
