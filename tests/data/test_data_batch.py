"""POST /api/v1/batch: data API operations in one transaction, each authorized and counted."""

from __future__ import annotations

import pytest
from batch_support import BATCH, PRODUCT, get, history, put
from data_support import COLLECTIONS, pointers, record_url, records_url

from benben.testing_auth import bearer

NOTES = f"{COLLECTIONS}/notes"


@pytest.fixture
def todo(app, alice):
    """A second collection of alice's, with a schema."""
    body = {"id": "todo", "schema": PRODUCT}
    return app.post_json(COLLECTIONS, body, headers=alice.headers).json


def state(app, user):
    """What a failed batch must leave unchanged: versions, records, history of both."""
    return {
        cid: (
            app.get(f"{COLLECTIONS}/{cid}", headers=user.headers).headers["ETag"],
            app.get(records_url(cid), {"_since": "0"}, headers=user.headers).json["data"],
            history(app, user, cid),
        )
        for cid in ("notes", "todo")
    }


def test_mixed_operations_across_collections_commit_together(app, alice, notes, todo):
    requests = [
        put("notes", "r1", {"v": 1}),
        {"method": "POST", "path": records_url("todo"), "body": {"data": {"name": "pen"}}},
        {
            "method": "PATCH",
            "path": record_url("notes", "r1"),
            "body": {"data": {"w": 2}},
            "headers": {"Content-Type": "application/merge-patch+json"},
        },
        {
            "method": "PATCH",
            "path": record_url("notes", "r1"),
            "body": [{"op": "replace", "path": "/data/v", "value": 3}],
            "headers": {"Content-Type": "application/json-patch+json"},
        },
        put("todo", "t1", {"name": "ink", "price": 2}),
        {"method": "DELETE", "path": record_url("todo", "t1")},
        get(record_url("notes", "r1")),
        get(records_url("todo") + "?_count=true&name=pen"),
        {"method": "PATCH", "path": f"{COLLECTIONS}/todo", "body": {"title": "To do"}},
    ]
    response = app.post_json(BATCH, {"requests": requests}, headers=alice.headers)
    results = response.json["responses"]
    assert [r["status"] for r in results] == [201, 201, 200, 200, 201, 200, 200, 200, 200]
    for result in results:
        if "last_modified" in (result["body"] or {}):
            assert result["headers"]["ETag"] == f'"{result["body"]["last_modified"]}"'
    assert results[0]["headers"]["Location"].endswith(record_url("notes", "r1"))
    created = results[1]["body"]
    assert results[1]["headers"]["Location"].endswith(record_url("todo", created["id"]))
    assert results[6]["body"]["data"] == {"v": 3, "w": 2}
    assert results[5]["body"] == {"id": "t1", "last_modified": results[5]["body"]["last_modified"],
                                  "deleted": True}  # fmt: skip
    assert [r["id"] for r in results[7]["body"]["data"]] == [created["id"]]
    assert results[7]["body"]["total"] == 1
    assert results[7]["headers"]["ETag"].startswith('"')
    assert results[8]["body"]["title"] == "To do"

    # Committed: what later requests see is what the batch did.
    stored = app.get(record_url("notes", "r1"), headers=alice.headers)
    assert stored.json["data"] == {"v": 3, "w": 2}
    assert stored.headers["ETag"] == results[6]["headers"]["ETag"]
    app.get(record_url("todo", "t1"), headers=alice.headers, status=404)
    assert app.get(f"{COLLECTIONS}/todo", headers=alice.headers).json["record_count"] == 1
    assert history(app, alice) == [
        ("record", "update", "r1"),
        ("record", "update", "r1"),
        ("record", "create", "r1"),
        ("collection", "create", None),
    ]


def test_conditional_operations_and_304(app, alice, notes):
    first = app.put_json(record_url("notes", "r1"), {"data": {"v": 1}}, headers=alice.headers)
    etag = first.headers["ETag"]
    requests = [
        get(record_url("notes", "r1"), headers={"If-None-Match": etag}),
        put("notes", "r1", {"v": 2}, headers={"If-Match": etag}),
        put("notes", "r2", {"v": 1}, headers={"If-None-Match": "*"}),
    ]
    results = app.post_json(BATCH, {"requests": requests}, headers=alice.headers).json
    not_modified, replaced, created = results["responses"]
    assert (not_modified["status"], not_modified["body"]) == (304, None)
    assert not_modified["headers"] == {"ETag": etag}
    assert (replaced["status"], created["status"]) == (200, 201)
    assert replaced["headers"]["ETag"] != etag


def test_defaults_apply_to_each_operation(app, alice, notes):
    body = {
        "defaults": {"method": "PUT", "headers": {"If-None-Match": "*"}},
        "requests": [
            {"path": record_url("notes", "a"), "body": {"data": {}}},
            {"path": record_url("notes", "b"), "body": {"data": {}}, "headers": {}},
            get(record_url("notes", "a"), headers={"If-None-Match": '"1"'}),
        ],
    }
    results = app.post_json(BATCH, body, headers=alice.headers).json["responses"]
    assert [r["status"] for r in results] == [201, 201, 200]
    # The default header applies too: a second run finds the records there (412).
    again = app.post_json(BATCH, {**body, "requests": body["requests"][:1]},
                          headers=alice.headers, status=412)  # fmt: skip
    assert again.json["operation"] == 0
    assert pointers(again) == ["/requests/0/headers/If-None-Match"]


FAILURES = [
    # (the failing operation, its status, pointers into the batch body)
    (put("notes", "r2", {"v": 1}, headers={"If-Match": '"1"'}), 412,
     ["/requests/2/headers/If-Match"]),
    ({"method": "DELETE", "path": record_url("notes", "missing")}, 404, []),
    (put("notes", "r2", 5), 400, ["/requests/2/body/data"]),
    (put("todo", "t2", {"price": -1}), 400,
     ["/requests/2/body/data/name", "/requests/2/body/data/price"]),
    (put("notes", "r2", {}, headers={"Content-Type": "text/plain"}), 415,
     ["/requests/2/headers/Content-Type"]),
    ({"method": "PATCH", "path": record_url("notes", "r1"),
      "body": [{"op": "test", "path": "/data/v", "value": 2}],
      "headers": {"Content-Type": "application/json-patch+json"}}, 409, None),
    (get(records_url("notes") + "?_limit=0"), 400, ["/requests/2/path"]),
    ({"method": "POST", "path": record_url("notes", "r1"), "body": {"data": {}}}, 405, []),
    ({"method": "DELETE", "path": NOTES, "headers": {"If-Match": '"1"'}}, 412,
     ["/requests/2/headers/If-Match"]),
]  # fmt: skip


@pytest.mark.parametrize(("failing", "status", "expected"), FAILURES)
def test_a_failing_operation_aborts_the_whole_batch(
    app, alice, notes, todo, failing, status, expected
):
    before = state(app, alice)
    requests = [
        put("notes", "r1", {"v": 1}),
        {"method": "POST", "path": records_url("todo"), "body": {"data": {"name": "pen"}}},
        failing,
        put("notes", "never", {"v": 1}),
    ]
    response = app.post_json(BATCH, {"requests": requests}, headers=alice.headers, status=status)
    problem = response.json
    assert response.content_type == "application/problem+json"
    assert (problem["status"], problem["operation"]) == (status, 2)
    assert problem["detail"].startswith(f"Operation 2 ({failing['method']} {failing['path']})")
    assert problem["detail"].endswith("Nothing was stored.")
    assert problem["response"]["status"] == status
    assert problem["response"]["body"]["status"] == status
    assert problem["type"] == problem["response"]["body"]["type"]
    if expected is not None:
        assert [e["pointer"] for e in problem.get("errors", [])] == expected
    assert "ETag" not in response.headers
    # Nothing stored: not the earlier writes, not their history, not the versions.
    assert state(app, alice) == before
    app.get(record_url("notes", "r1"), headers=alice.headers, status=404)


def test_each_operation_is_authorized_on_its_own(app, alice, bob, carol, notes):
    app.post_json(COLLECTIONS, {"id": "bobs"}, headers=bob.headers)
    app.patch_json(NOTES, {"permissions": {"read": ["group:staff"]}}, headers=alice.headers)
    app.put_json(record_url("notes", "n1"), {"data": {}}, headers=alice.headers)

    # bob may not see notes: its operation answers 404 as it would alone; bobs is unchanged.
    requests = [put("bobs", "b1", {}), put("notes", "n2", {}), put("bobs", "b2", {})]
    refused = app.post_json(BATCH, {"requests": requests}, headers=bob.headers, status=404)
    assert refused.json["operation"] == 1
    hidden = refused.json["response"]["body"]["detail"]
    assert hidden == f"No resource at {record_url('notes', 'n2')}."
    assert app.get(records_url("bobs"), headers=bob.headers).json["data"] == []
    assert history(app, bob, "bobs") == [("collection", "create", None)]

    # carol (staff) reads notes but may not write it: 403 for that operation.
    requests = [get(record_url("notes", "n1")), {"method": "DELETE", "path": NOTES + "/records/n1"}]
    refused = app.post_json(BATCH, {"requests": requests}, headers=carol.headers, status=403)
    assert refused.json["operation"] == 1
    app.get(record_url("notes", "n1"), headers=alice.headers)

    # Granted write, the same batch goes through, as carol.
    app.patch_json(NOTES, {"permissions": {"write": ["group:staff"]}}, headers=alice.headers)
    results = app.post_json(BATCH, {"requests": requests}, headers=carol.headers).json
    assert [r["status"] for r in results["responses"]] == [200, 200]
    assert history(app, alice)[0] == ("record", "delete", "n1")
    entry = app.get(f"{NOTES}/history", headers=alice.headers).json["data"][0]
    assert entry["user_id"] == carol.id


def test_api_token_scopes_apply_to_each_operation(app, alice, notes):
    token = app.post_json("/api/v1/tokens", {"name": "ro", "scopes": ["read"]},
                          headers=alice.headers).json["token"]  # fmt: skip
    reads = {"requests": [get(records_url("notes")), get(NOTES)]}
    assert app.post_json(BATCH, reads, headers=bearer(token)).status_code == 200
    writes = {"requests": [get(NOTES), put("notes", "r1", {})]}
    refused = app.post_json(BATCH, writes, headers=bearer(token), status=403)
    assert "scopes" in refused.json["response"]["body"]["detail"]
    app.get(record_url("notes", "r1"), headers=alice.headers, status=404)


def test_anonymous_callers_and_bad_credentials(app, alice, notes):
    listed = app.post_json(BATCH, {"requests": [get(COLLECTIONS)]})
    assert listed.json["responses"][0]["body"]["data"] == []
    # An operation that needs a credential: 401 with its challenge, for the batch.
    refused = app.post_json(BATCH, {"requests": [put("notes", "r1", {})]}, status=401)
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert refused.json["operation"] == 0
    # A credential that is not valid refuses the whole batch, before any operation.
    bad = app.post_json(BATCH, {"requests": [get(COLLECTIONS)]},
                        headers=bearer("not-a-token"), status=401)  # fmt: skip
    assert "operation" not in bad.json


INVALID_BODIES = [
    ({}, ["/requests"]),
    ({"requests": []}, ["/requests"]),
    ({"requests": {}}, ["/requests"]),
    ({"requests": [get(COLLECTIONS)], "extra": 1}, ["/extra"]),
    ({"requests": [{"path": COLLECTIONS}]}, ["/requests/0/method"]),
    ({"requests": [get(COLLECTIONS, method="HEAD")]}, ["/requests/0/method"]),
    ({"requests": [get(COLLECTIONS, verb="GET")]}, ["/requests/0/verb"]),
    ({"requests": [get(COLLECTIONS, headers={"Authorization": "Bearer x"})]},
     ["/requests/0/headers/Authorization"]),
    ({"requests": [get(COLLECTIONS, headers={"If-Match": 1})]}, ["/requests/0/headers/If-Match"]),
    ({"requests": [get(COLLECTIONS), {"method": "PUT", "path": record_url("notes", "x")}]},
     ["/requests/1/body"]),
    ({"requests": [get(COLLECTIONS, body={})]}, ["/requests/0/body"]),
    ({"defaults": {"method": "GET", "path": COLLECTIONS}, "requests": [{"path": COLLECTIONS}]},
     ["/defaults/path"]),
    ({"requests": [get("/api/v1/collections/é")]}, ["/requests/0/path"]),
    ({"requests": [get(COLLECTIONS), 7]}, ["/requests/1"]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), INVALID_BODIES)
def test_invalid_bodies_point_at_the_member(app, alice, body, expected):
    response = app.post_json(BATCH, body, headers=alice.headers, status=400)
    assert pointers(response) == expected


def test_a_body_that_is_not_json_or_not_json_typed(app, alice):
    as_json = {**alice.headers, "Content-Type": "application/json"}
    response = app.post(BATCH, b"{nope", headers=as_json, status=400)
    assert pointers(response) == [""]
    app.post(BATCH, b"{}", headers={**alice.headers, "Content-Type": "text/plain"}, status=415)
    app.post_json(f"{BATCH}?dry_run=true", {"requests": [get(COLLECTIONS)]},
                  headers=alice.headers, status=400)  # fmt: skip


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/batch",
        "/api/v1/auth/login",
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/collectionsX",
        "/api/v1/collections/",
        "/api/v1/collections/notes/records/r1/extra",
        "/api/v1/collections/../auth/login",
        "/api/v1/collections/%ff",
        "/api/v1/collections?_limit=%ff",
        "/api/v1/collections#frag",
        "//evil.example/api/v1/collections",
    ],
)
def test_only_data_api_paths_are_allowed(app, alice, notes, path):
    requests = [put("notes", "r1", {}), {"method": "POST", "path": path, "body": {}}]
    response = app.post_json(BATCH, {"requests": requests}, headers=alice.headers, status=400)
    assert pointers(response) == ["/requests/1/path"]
    app.get(record_url("notes", "r1"), headers=alice.headers, status=404)


def test_every_refused_operation_is_reported_at_once(app, alice):
    requests = [get("/api/v1/users"), get(COLLECTIONS), {"method": "POST", "path": COLLECTIONS}]
    response = app.post_json(BATCH, {"requests": requests}, headers=alice.headers, status=400)
    assert pointers(response) == ["/requests/0/path", "/requests/2/body"]


def test_collections_created_in_a_batch_are_usable_in_it_and_rolled_back_with_it(app, alice):
    shelf = {"id": "shelf", "schema": PRODUCT, "indexed_fields": ["price"]}
    create = {"method": "POST", "path": COLLECTIONS, "body": shelf}
    fill = [put("shelf", f"p{i}", {"name": f"p{i}", "price": i}) for i in range(3)]
    query = get(records_url("shelf") + "?price__ge=1&_sort=-price")
    failing = put("shelf", "bad", {"price": 1})
    refused = app.post_json(BATCH, {"requests": [create, *fill, failing]},
                            headers=alice.headers, status=400)  # fmt: skip
    assert refused.json["operation"] == 4
    app.get(f"{COLLECTIONS}/shelf", headers=alice.headers, status=404)

    results = app.post_json(BATCH, {"requests": [create, *fill, query]}, headers=alice.headers)
    listed = results.json["responses"][-1]["body"]["data"]
    assert [r["id"] for r in listed] == ["p2", "p1"]
    assert app.get(f"{COLLECTIONS}/shelf", headers=alice.headers).json["record_count"] == 3


def test_the_openapi_document_describes_the_batch(app):
    operation = app.get("/api/v1/openapi.json").json["paths"]["/api/v1/batch"]["post"]
    assert operation["tags"] == ["data"]
    assert {"200", "400", "404", "412", "429"} <= set(operation["responses"])
    assert "requestBody" in operation
    capabilities = app.get("/api/v1/").json["capabilities"]
    assert capabilities["batch"]["url"].endswith("/api/v1/batch")
