"""Sorts and filters on fields a collection's schema forbids are refused; on fields it leaves open
they are answered, records lacking the field sorted as missing (issue #14)."""

from __future__ import annotations

import pytest
from data_support import COLLECTIONS, record_url, records_url

from benben.data.declared import undeclared

CLOSED = {
    "type": "object",
    "properties": {
        "price": {"type": "number"},
        "title": {"type": "string"},
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "additionalProperties": False,
        },
        "extra": {"type": "object"},
        "secret": False,
    },
    "patternProperties": {"^x-": {}},
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("schema", "path", "expected"),
    [
        (CLOSED, "price", None),
        (CLOSED, "prise", "prise"),
        (CLOSED, "x-tag", None),  # patternProperties declare it
        (CLOSED, "address.city", None),
        (CLOSED, "address.cty", "address.cty"),
        (CLOSED, "extra.anything", None),  # "extra" leaves its members open
        (CLOSED, "secret", "secret"),  # declared false: no record has it
        (None, "prise", None),
        ({"type": "object"}, "prise", None),
        ({"additionalProperties": {"type": "string"}}, "prise", None),
        # unevaluatedProperties: what in-place subschemas declare counts.
        (
            {
                "allOf": [{"properties": {"a": {}}}],
                "$defs": {"b": {"properties": {"b": {}}}},
                "anyOf": [{"$ref": "#/$defs/b"}],
                "unevaluatedProperties": False,
            },
            "b",
            None,
        ),
        ({"properties": {"a": {}}, "unevaluatedProperties": False}, "c", "c"),
        # What cannot be known without evaluating is left open.
        ({"allOf": [{"additionalProperties": True}], "unevaluatedProperties": False}, "c", None),
        ({"$ref": "https://example.com/s", "unevaluatedProperties": False}, "c", None),
        (
            {"$schema": "http://json-schema.org/draft-07/schema#", "$ref": "#/definitions/x",
             "additionalProperties": False, "definitions": {"x": {}}},
            "c",
            None,
        ),
    ],
)  # fmt: skip
def test_undeclared(schema, path, expected):
    assert undeclared(schema, tuple(path.split("."))) == expected


@pytest.fixture
def shop(app, alice):
    app.post_json(COLLECTIONS, {"id": "shop", "schema": CLOSED}, headers=alice.headers)
    app.post_json(COLLECTIONS, {"id": "open"}, headers=alice.headers)
    for cid in ("shop", "open"):
        for rid, data in (("a", {"price": 2}), ("b", {"title": "no price"}), ("c", {"price": 1})):
            app.put_json(record_url(cid, rid), {"data": data}, headers=alice.headers)


def test_sorting_or_filtering_on_a_field_the_schema_forbids_is_a_400(app, alice, shop):
    response = app.get(
        records_url("shop"), {"_sort": "-prise", "titel": "x", "address.cty__exists": "true"},
        headers=alice.headers, status=400,
    )  # fmt: skip
    errors = {e["name"]: e["message"] for e in response.json["errors"]}
    assert errors == {
        "_sort": "the schema of the collection does not declare prise, and accepts no "
        "undeclared fields: no record can have it",
        "titel": "the schema of the collection does not declare titel, and accepts no "
        "undeclared fields: no record can have it",
        "address.cty__exists": "the schema of the collection does not declare address.cty, and "
        "accepts no undeclared fields: no record can have it",
    }
    listed = app.get(records_url("shop"), {"_sort": "price"}, headers=alice.headers).json
    assert [r["id"] for r in listed["data"]] == ["c", "a", "b"]


def test_on_an_open_schema_records_lacking_the_sort_field_come_last_ascending(app, alice, shop):
    ascending = app.get(records_url("open"), {"_sort": "prise,id"}, headers=alice.headers).json
    assert [r["id"] for r in ascending["data"]] == ["a", "b", "c"]  # all missing: by id
    ascending = app.get(records_url("open"), {"_sort": "price"}, headers=alice.headers).json
    assert [r["id"] for r in ascending["data"]] == ["c", "a", "b"]
    descending = app.get(records_url("open"), {"_sort": "-price"}, headers=alice.headers).json
    assert [r["id"] for r in descending["data"]] == ["b", "a", "c"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("--price", 'key 1 ("--price"): one "-" before a field means descending'),
        ("price,,title", "key 2 is empty (two commas in a row, or one at an end)"),
        ("-", 'key 1 ("-") is a lone "-"'),
        ("price,price", 'key 2 ("price"): price is already a sort key'),
        ("pr ice", 'key 1 ("pr ice"): invalid field segment "pr ice"'),
    ],
)
def test_sort_syntax_mistakes_say_why(app, alice, shop, sort, expected):
    response = app.get(records_url("open"), {"_sort": sort}, headers=alice.headers, status=400)
    (error,) = response.json["errors"]
    assert (error["location"], error["name"]) == ("querystring", "_sort")
    assert error["message"].startswith(expected)
