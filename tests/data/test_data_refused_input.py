"""Input the data API refuses with a 400 naming it, before doing any work, on both backends:
ids ending in a newline, NUL characters, bodies too deep, integers beyond int64 (issue #13)."""

from __future__ import annotations

import json

import pytest
from data_support import COLLECTIONS, pointers, record_url, records_url

JSON_PATCH = "application/json-patch+json"


def _nested(depth):
    return json.loads("[" * depth + "]" * depth)


def _problem(response):
    assert response.content_type == "application/problem+json", response.text
    assert response.json["type"] == "urn:benben:problem:validation-error"
    return response.json["errors"]


def test_ids_ending_in_a_newline_are_refused(app, alice, shelf):
    errors = _problem(app.put_json(f"{COLLECTIONS}/abc%0a", {}, headers=alice.headers, status=400))
    assert [(e["location"], e["name"]) for e in errors] == [("path", "cid")]
    app.get(f"{COLLECTIONS}/abc%0a/records", headers=alice.headers, status=404)  # no 500
    app.get(f"{COLLECTIONS}/abc", headers=alice.headers, status=404)  # nothing was created
    response = app.post_json(COLLECTIONS, {"id": "abc\n"}, headers=alice.headers, status=400)
    assert pointers(response) == ["/id"]

    errors = _problem(
        app.put_json(record_url("shelf", "b2%0a"), {"data": {}}, headers=alice.headers, status=400)
    )
    assert [(e["location"], e["name"]) for e in errors] == [("path", "rid")]
    app.get(record_url("shelf", "b1%0a"), headers=alice.headers, status=404)
    listed = app.get(records_url("shelf"), headers=alice.headers).json["data"]
    assert [record["id"] for record in listed] == ["b1"]


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/api/v1/collections/sh%00elf/records", {}, "cid"),
        ("/api/v1/collections/shelf/records/b%001", {}, "rid"),
        ("/api/v1/collections/shelf/records", {"title": "Du\x00ne"}, "title"),
        ("/api/v1/collections/shelf/records", {"title__in": '["a", "b\\u0000"]'}, "title__in"),
        ("/api/v1/collections/shelf/records", {"title": '"\\ud800"'}, "title"),
        ("/api/v1/collections/shelf/records", {"ti\x00tle": "Dune"}, "ti\x00tle"),
        ("/api/v1/collections/shelf/records", {"_sort": "title\x00"}, "_sort"),
        ("/api/v1/collections/shelf/records", {"_cursor": "a\x00"}, "_cursor"),
        ("/api/v1/collections/shelf/records", {"_since": "1\x00"}, "_since"),
        ("/api/v1/collections/shelf/history", {"record_id": "b\x001"}, "record_id"),
    ],
)
def test_nul_in_a_path_segment_or_query_parameter_is_a_400(app, alice, shelf, path, params, name):
    response = app.get(path, params, headers=alice.headers, status=400)
    assert [e["name"] for e in _problem(response)] == [name]


def test_nul_in_a_precondition_header_is_a_400(app, alice, shelf):
    headers = {**alice.headers, "If-Match": '"1\x00"'}
    response = app.put_json(record_url("shelf", "b1"), {"data": {}}, headers=headers, status=400)
    assert [(e["location"], e["name"]) for e in _problem(response)] == [("header", "If-Match")]


def test_nul_and_lone_surrogates_in_bodies_point_at_the_member(app, alice, shelf):
    body = b'{"data": {"title": "a\\u0000", "tags": ["\\udfff"]}}'
    response = app.put(
        record_url("shelf", "b2"), body, content_type="application/json", headers=alice.headers,
        status=400,
    )  # fmt: skip
    assert pointers(response) in (["/data/title"], ["/data/tags/0"])  # the first one found
    app.get(record_url("shelf", "b2"), headers=alice.headers, status=404)


def test_a_deep_json_patch_add_is_refused_before_it_is_applied(app, alice, shelf):
    """The issue's reproduction: 500 levels added by one operation."""
    before = app.get(record_url("shelf", "b1"), headers=alice.headers).json
    patch = [{"op": "test", "path": "/data/title", "value": "Dune"},
             {"op": "add", "path": "/data/x", "value": _nested(500)}]  # fmt: skip
    response = app.patch(
        record_url("shelf", "b1"), json.dumps(patch), content_type=JSON_PATCH,
        headers=alice.headers, status=400,
    )  # fmt: skip
    [pointer] = pointers(response)
    assert pointer.startswith("/1/value/0/0")
    assert app.get(record_url("shelf", "b1"), headers=alice.headers).json == before


@pytest.mark.parametrize(("path", "depth", "status"), [
    ("/data/x", 64, 200), ("/data/x", 65, 400), ("/data/a/b/c", 62, 200), ("/data/a/b/c", 63, 400),
])  # fmt: skip
def test_a_json_patch_value_counts_its_depth_where_it_lands(app, alice, shelf, path, depth, status):
    app.patch_json(record_url("shelf", "b1"), {"data": {"a": {"b": {}}}}, headers=alice.headers)
    patch = [{"op": "add", "path": path, "value": _nested(depth)}]
    response = app.patch(
        record_url("shelf", "b1"), json.dumps(patch), content_type=JSON_PATCH,
        headers=alice.headers, status=status,
    )  # fmt: skip
    if status == 400:
        assert pointers(response)[0].startswith("/0/value/")


def test_a_deep_merge_patch_is_refused_before_it_is_merged(app, alice, shelf):
    patch = {"data": {"x": _nested(70)}}
    response = app.patch_json(record_url("shelf", "b1"), patch, headers=alice.headers, status=400)
    assert pointers(response)[0].startswith("/data/x/0")


@pytest.mark.parametrize(
    "url", ["/api/v1/collections/shelf/records", "/api/v1/collections", "/api/v1/auth/login",
            "/api/v1/batch"],
)  # fmt: skip
def test_bodies_nested_past_the_stack_are_a_400_everywhere(app, alice, shelf, url):
    body = b"[" * 100_000 + b"]" * 100_000
    response = app.post(url, body, content_type="application/json", headers=alice.headers,
                        status=400)  # fmt: skip
    assert pointers(response) == [""]


@pytest.mark.parametrize(
    ("raw", "pointer"),
    [
        (str(10**300), "/data/n"),  # the reproduction: hundreds of digits
        (str(2**63), "/data/n"),
        (f"-{2**63}", "/data/n"),
        (f'{{"deep": [1, {10**20}]}}', "/data/n/deep/1"),
        ("9" * 400, "/data/n"),  # beyond a double too
        ("1e400", "/data/n"),
        ("NaN", ""),
        ("-Infinity", ""),
    ],
)
def test_numbers_beyond_the_stored_range_are_refused(app, alice, shelf, raw, pointer):
    body = '{"data": {"n": ' + raw + "}}"
    response = app.put(
        record_url("shelf", "n"), body, content_type="application/json", headers=alice.headers,
        status=400,
    )  # fmt: skip
    assert pointers(response) == [pointer]


def test_a_huge_integer_is_refused_and_paging_on_its_field_works(app, alice, shelf):
    """The issue's reproduction: a 300-digit integer, then pages sorted on that field."""
    body = '{"data": {"n": %s}}' % ("1" * 300)
    app.put(record_url("shelf", "big"), body, content_type="application/json",
            headers=alice.headers, status=400)  # fmt: skip
    values = [2**63 - 1, -(2**63 - 1), 1e308, -0.0, 0, 2.5]
    for index, value in enumerate(values):
        app.put_json(
            record_url("shelf", f"n{index}"), {"data": {"n": value}}, headers=alice.headers
        )
    stored = app.get(record_url("shelf", "n0"), headers=alice.headers).json["data"]
    assert stored == {"n": 2**63 - 1}  # exactly
    for sort, expected in (("n", ["n1", "n3", "n4", "n5", "n0", "n2"]),
                           ("-n", ["n2", "n0", "n5", "n4", "n3", "n1"])):  # fmt: skip
        seen = []
        query = {"_sort": sort, "_limit": "1", "n__exists": "true"}
        response = app.get(records_url("shelf"), query, headers=alice.headers)
        while True:
            seen += [record["id"] for record in response.json["data"]]
            if not response.json["next"]:
                break
            response = app.get(response.json["next"], headers=alice.headers)
        # -0.0 and 0 are equal: their order is last_modified's, the direction of the sort's.
        assert seen == expected


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"n__gt": "1" + "0" * 300}, "n__gt"),
        ({"n": str(2**63)}, "n"),
        ({"n__in": f"1,{10**30}"}, "n__in"),
        ({"n__gt": "1e400"}, "n__gt"),
        ({"_limit": "1" + "0" * 300}, "_limit"),
        ({"_since": "9" * 300}, "_since"),
    ],
)
def test_numbers_beyond_the_stored_range_in_queries(app, alice, shelf, params, name):
    response = app.get(records_url("shelf"), params, headers=alice.headers, status=400)
    assert [e["name"] for e in _problem(response)] == [name]
