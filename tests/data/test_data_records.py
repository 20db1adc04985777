"""Records: create, read, replace, delete (tombstones), validation and refusals."""

from __future__ import annotations

import uuid

import pytest
from data_support import COLLECTIONS, make_user, pointers, record_url, records_url

from benben.testing_auth import FAST_PASSWORD_HASHING

SCHEMA = {
    "type": "object",
    "required": ["title"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "price": {"type": "number", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}},
        "contact": {"type": "string", "format": "email"},
    },
}


@pytest.fixture
def books(app, alice):
    body = {"id": "books", "schema": SCHEMA}
    return app.post_json(COLLECTIONS, body, headers=alice.headers).json


def test_a_created_record_is_located_under_the_app_s_host_and_mount_point(app, alice, books):
    # Built from the request's application URL, as route_url builds it: a prefix the app is
    # mounted under (SCRIPT_NAME) and the host asked for are kept, by POST and by PUT.
    environ = {"SCRIPT_NAME": "/mounted", "HTTP_HOST": "data.example:8443"}
    body = {"data": {"title": "Dune"}}
    posted = app.post_json(
        records_url("books"), body, headers=alice.headers, extra_environ=environ, status=201
    )
    url = record_url("books", posted.json["id"])
    assert posted.headers["Location"] == f"http://data.example:8443/mounted{url}"
    put = app.put_json(
        record_url("books", "r-1_x"), body, headers=alice.headers, extra_environ=environ, status=201
    )
    assert (
        put.headers["Location"] == f"http://data.example:8443/mounted{record_url('books', 'r-1_x')}"
    )


def test_create_read_replace_and_delete_a_record(app, alice, books):
    created = app.post_json(
        records_url("books"),
        {"data": {"title": "Dune", "price": 9.5}},
        headers=alice.headers,
        status=201,
    )
    record = created.json
    assert uuid.UUID(record["id"]).version == 4
    assert record == {
        "id": record["id"],
        "data": {"title": "Dune", "price": 9.5},
        "last_modified": record["last_modified"],
        "created_by": alice.id,
        "permissions": {},
    }
    url = record_url("books", record["id"])
    assert created.headers["Location"] == f"http://localhost{url}"
    assert created.headers["ETag"] == f'"{record["last_modified"]}"'

    read = app.get(url, headers=alice.headers)
    assert read.json == record
    assert read.headers["ETag"] == created.headers["ETag"]

    replaced = app.put_json(url, {"data": {"title": "Dune Messiah"}}, headers=alice.headers).json
    assert replaced["data"] == {"title": "Dune Messiah"}
    assert replaced["last_modified"] > record["last_modified"]
    collection = app.get(f"{COLLECTIONS}/books", headers=alice.headers).json
    assert collection["record_count"] == 1
    assert collection["last_modified"] == replaced["last_modified"]

    deleted = app.delete(url, headers=alice.headers)
    assert deleted.json == {
        "id": record["id"],
        "last_modified": deleted.json["last_modified"],
        "deleted": True,
    }
    assert deleted.json["last_modified"] > replaced["last_modified"]
    app.get(url, headers=alice.headers, status=404)
    app.delete(url, headers=alice.headers, status=404)
    app.patch_json(url, {"data": {}}, headers=alice.headers, status=404)
    assert app.get(f"{COLLECTIONS}/books", headers=alice.headers).json["record_count"] == 0


def test_put_with_a_client_chosen_id_and_recreating_a_tombstone(app, alice, bob, books):
    app.patch_json(
        f"{COLLECTIONS}/books", {"permissions": {"create": [bob.principal]}}, headers=alice.headers
    )
    url = record_url("books", "dune_1-A")
    first = app.put_json(
        url,
        {"data": {"title": "Dune"}, "permissions": {"read": ["group:xy"]}},
        headers=alice.headers,
        status=201,
    )
    assert first.json["id"] == "dune_1-A"
    app.delete(url, headers=alice.headers)
    # The id is free again: bob (who may create) takes it; it is his now, with no grants.
    again = app.put_json(url, {"data": {"title": "Dune"}}, headers=bob.headers, status=201)
    assert again.json["created_by"] == bob.id
    assert again.json["permissions"] == {}
    assert again.json["last_modified"] > first.json["last_modified"]
    assert app.get(f"{COLLECTIONS}/books", headers=alice.headers).json["record_count"] == 1


INVALID_RECORDS = [
    ({}, ["/data"]),
    ({"data": []}, ["/data"]),
    ({"data": "text"}, ["/data"]),
    ({"data": {"title": "x"}, "extra": 1}, ["/extra"]),
    ({"data": {}}, ["/data/title"]),
    ({"data": {"title": ""}}, ["/data/title"]),
    ({"data": {"title": "x", "price": -1, "tags": ["a", 2]}}, ["/data/price", "/data/tags/1"]),
    ({"data": {"title": "x", "colour": "red"}}, ["/data/colour"]),
    ({"data": {"title": "x", "contact": "not an address"}}, ["/data/contact"]),
    ({"data": {"title": "nul\x00"}}, ["/data/title"]),
    ({"data": {"title": "x", "nul\x00": 1}}, ["/data/nul\x00"]),
    ({"data": {"title": "x"}, "permissions": {"read": ["nobody"]}}, ["/permissions/read/0"]),
    ({"data": {"title": "x"}, "permissions": {"admin": []}}, ["/permissions/admin"]),
]


def test_invalid_records_are_400_with_pointers(app, alice, books):
    for body, expected in INVALID_RECORDS:
        response = app.post_json(records_url("books"), body, headers=alice.headers, status=400)
        assert pointers(response) == expected, response.request.body
        assert app.get(f"{COLLECTIONS}/books", headers=alice.headers).json["record_count"] == 0


def test_lone_surrogates_and_deep_nesting_are_refused(app, alice, notes):
    surrogate = b'{"data": {"a": "\\ud800"}}'
    response = app.post(
        records_url("notes"),
        surrogate,
        headers={**alice.headers, "Content-Type": "application/json"},
        status=400,
    )
    assert pointers(response) == ["/data/a"]
    deep: dict = {}
    node = deep
    for _ in range(70):
        node["x"] = {}
        node = node["x"]
    response = app.post_json(
        records_url("notes"), {"data": deep}, headers=alice.headers, status=400
    )
    assert "nested deeper" in response.json["errors"][0]["message"]


def test_record_ids_in_urls(app, alice, notes):
    too_long = "a" * 65
    for bad in (too_long, "-dash-first", "has.dot"):
        response = app.put_json(
            record_url("notes", bad), {"data": {}}, headers=alice.headers, status=400
        )
        assert pointers(response) == ["rid"]
        app.get(record_url("notes", bad), headers=alice.headers, status=404)
        app.delete(record_url("notes", bad), headers=alice.headers, status=404)
    app.put_json(record_url("notes", "a" * 64), {"data": {}}, headers=alice.headers, status=201)
    app.get(record_url("no-such", "x"), headers=alice.headers, status=404)
    app.get(record_url("UPPER", "x"), headers=alice.headers, status=404)


def test_record_size_limit_is_413_with_a_pointer(make_app, backends):
    app = make_app({**FAST_PASSWORD_HASHING, "benben.data.max_record_size": "100"})
    alice = make_user(app, "alice")
    app.post_json(COLLECTIONS, {"id": "notes"}, headers=alice.headers)
    app.post_json(records_url("notes"), {"data": {"t": "x" * 80}}, headers=alice.headers)
    response = app.post_json(
        records_url("notes"), {"data": {"t": "x" * 100}}, headers=alice.headers, status=413
    )
    assert pointers(response) == ["/data"]
    assert "at most 100" in response.json["detail"]
    # Every 413 has one type and a title that matches it (docs/errors.md).
    too_large = ("urn:benben:problem:too-large", "Content too large")
    assert (response.json["type"], response.json["title"]) == too_large
    # A JSON Patch copying data around cannot grow a record past the limit either.
    url = app.put_json(
        record_url("notes", "r"), {"data": {"t": "x" * 40}}, headers=alice.headers
    ).headers["Location"]
    copies = [{"op": "copy", "from": "/data/t", "path": f"/data/c{i}"} for i in range(3)]
    response = app.patch_json(
        url,
        copies,
        headers={**alice.headers, "Content-Type": "application/json-patch+json"},
        status=413,
    )
    assert (response.json["type"], response.json["title"]) == too_large
    # A body over benben.security.max_body_size never reaches the view.
    small = make_app({**FAST_PASSWORD_HASHING, "benben.security.max_body_size": "1024"})
    response = small.post_json(
        records_url("notes"),
        {"data": {"t": "x" * 2000}},
        headers=make_user(small, "bob").headers,
        status=413,
    )
    assert response.content_type == "application/problem+json"
    assert (response.json["type"], response.json["title"]) == too_large
    assert response.json["instance"] == records_url("notes")


MALFORMED_BODIES = [
    (b"{", "application/json", 400),
    (b'{"data": {"n": Infinity}}', "application/json", 400),
    (b'{"data": {"n": -1e400}}', "application/json", 400),
    (b"", "application/json", 400),
    (b'{"data": {}}', "text/json", 415),
    (b'{"data": {}}', "application/merge-patch+json", 415),
    (b'{"data": {}}', None, 415),
]


def test_malformed_bodies_and_content_types(app, alice, notes):
    for method in ("post", "put"):
        for raw, content_type, status in MALFORMED_BODIES:
            headers = dict(alice.headers)
            if content_type:
                headers["Content-Type"] = content_type
            url = records_url("notes") if method == "post" else record_url("notes", "r1")
            response = getattr(app, method)(url, raw, headers=headers, status=status)
            assert response.content_type == "application/problem+json"
            assert response.json["status"] == status
            assert app.get(f"{COLLECTIONS}/notes", headers=alice.headers).json["record_count"] == 0


def test_unknown_query_parameters_and_methods(app, alice, notes):
    created = app.post_json(records_url("notes"), {"data": {}}, headers=alice.headers)
    url = created.headers["Location"]
    response = app.get(url + "?fields=a", headers=alice.headers, status=400)
    assert pointers(response) == ["fields"]
    response = app.post_json(url, {"data": {}}, headers=alice.headers, status=405)
    assert "GET" in response.headers["Allow"]
    app.delete(records_url("notes"), headers=alice.headers, status=405)


def test_utf8_data_round_trips(app, alice, notes):
    data = {"name": "Zoë", "emoji": "🦆", "cjk": "本本", "nested": {"list": [1, 2.5, None, True]}}
    record = app.post_json(records_url("notes"), {"data": data}, headers=alice.headers).json
    assert app.get(record_url("notes", record["id"]), headers=alice.headers).json["data"] == data


def test_an_empty_body_and_null_data_are_told_plainly(app, alice, notes):
    response = app.post(
        records_url("notes"), b"", content_type="application/json", headers=alice.headers,
        status=400,
    )  # fmt: skip
    assert response.json["errors"] == [
        {"location": "body", "pointer": "", "message": "the body is empty; expected a JSON object"}
    ]
    response = app.post_json(
        records_url("notes"), {"data": None}, headers=alice.headers, status=400
    )
    assert response.json["errors"] == [
        {"location": "body", "pointer": "/data", "message": "must be an object, not null"}
    ]
    assert response.json["detail"] == "/data: must be an object, not null"
    response = app.put_json(record_url("notes", "r"), None, headers=alice.headers, status=400)
    assert response.json["errors"][0]["message"] == "must be an object, not null"
