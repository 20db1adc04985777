"""Patterns in collection schemas run on RE2: what made Python's backtracking ``re`` freeze the
whole process (it holds the GIL) answers in milliseconds, and what RE2 cannot run is a 400 when
the schema is set."""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import json
import time
from typing import Any

import pytest
from data_support import COLLECTIONS, pointers, records_url
from webtest.http import StopableWSGIServer

EVIL = "^(a+)+$"
# 27 characters cost 7 s with Python's re, each further one doubling it: 41 would be days.
EVIL_TEXT = "a" * 40 + "!"


def create(app: Any, user: Any, schema: Any, status: int = 201) -> Any:
    body = {"id": "c", "schema": schema}
    return app.post_json(COLLECTIONS, body, headers=user.headers, status=status)


def post(app: Any, user: Any, data: Any, status: int) -> Any:
    return app.post_json(records_url("c"), {"data": data}, headers=user.headers, status=status)


SCHEMAS = {
    "pattern": ({"properties": {"s": {"pattern": EVIL}}}, {"s": EVIL_TEXT}, {"s": "aaa"}),
    "patternProperties": (
        {"patternProperties": {EVIL: {"type": "integer"}}, "additionalProperties": False},
        {EVIL_TEXT: 1},
        {"aaa": 1},
    ),
    "unevaluatedProperties": (
        {"patternProperties": {EVIL: {"type": "integer"}}, "unevaluatedProperties": False},
        {EVIL_TEXT: 1},
        {"aaa": 1},
    ),
    "propertyNames": ({"propertyNames": {"pattern": EVIL}}, {EVIL_TEXT: 1}, {"aaa": 1}),
    "draft-07": (
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "properties": {"s": {"pattern": EVIL}, "again": {"$ref": "#"}},
        },
        {"again": {"s": EVIL_TEXT}},
        {"again": {"s": "aaa"}},
    ),
    "2019-09": (
        {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "patternProperties": {EVIL: True},
            "unevaluatedProperties": False,
        },
        {EVIL_TEXT: 1},
        {"aaa": 1},
    ),
}


@pytest.mark.parametrize("case", SCHEMAS)
def test_catastrophic_patterns_are_a_fast_no_match(app, alice, case):
    schema, refused, accepted = SCHEMAS[case]
    create(app, alice, schema)
    started = time.monotonic()
    response = post(app, alice, refused, status=400)
    assert time.monotonic() - started < 1  # Python's re: hours
    assert response.json["errors"]
    post(app, alice, accepted, status=201)


def test_a_catastrophic_pattern_in_a_dry_run_is_fast_too(app, alice):
    create(app, alice, None)
    post(app, alice, {"s": EVIL_TEXT}, status=201)
    schema = {"properties": {"s": {"pattern": EVIL}}}
    started = time.monotonic()
    report = app.put_json(
        f"{COLLECTIONS}/c?dry_run=true", {"schema": schema}, headers=alice.headers
    ).json
    assert time.monotonic() - started < 1
    assert (report["checked"], report["failed"]) == (1, 1)


def test_dollar_means_the_end_of_the_string_not_before_a_final_newline(app, alice):
    create(app, alice, {"properties": {"code": {"pattern": "^[a-z]+$"}}})
    assert pointers(post(app, alice, {"code": "abc\n"}, status=400)) == ["/data/code"]
    post(app, alice, {"code": "abc"}, status=201)


@pytest.mark.parametrize(
    ("schema", "pointer"),
    [
        ({"properties": {"s": {"pattern": r"(a)\1"}}}, "/schema/properties/s/pattern"),
        ({"properties": {"s": {"pattern": "(?=a)a"}}}, "/schema/properties/s/pattern"),
        ({"properties": {"s": {"pattern": "(?<!a)b"}}}, "/schema/properties/s/pattern"),
        ({"$defs": {"d": {"pattern": "a{2000}"}}}, "/schema/$defs/d/pattern"),
        ({"patternProperties": {r"(x)\1": {}}}, "/schema/patternProperties/(x)\\1"),
        (
            {"items": {"patternProperties": {"^ok$": {}, "(?!x)": {}}}},
            "/schema/items/patternProperties/(?!x)",
        ),
    ],
)
def test_patterns_re2_refuses_are_a_400_at_schema_time(app, alice, schema, pointer):
    response = create(app, alice, schema, status=400)
    assert pointers(response) == [pointer]
    assert "RE2" in response.json["errors"][0]["message"]


def test_format_regex_values_in_records_are_checked_with_re2(app, alice):
    create(app, alice, {"properties": {"r": {"format": "regex"}}})
    post(app, alice, {"r": "^[a-z]+(-[a-z]+)*$"}, status=201)
    for refused in (r"(a)\1", "(?=a)", "("):
        assert pointers(post(app, alice, {"r": refused}, status=400)) == ["/data/r"]


def request(server: Any, method: str, path: str, headers: Any = None, body: Any = None) -> int:
    connection = http.client.HTTPConnection(server.adj.host, server.adj.port, timeout=30)
    with contextlib.closing(connection):
        payload = None if body is None else json.dumps(body)
        all_headers = {**(headers or {}), "Content-Type": "application/json"}
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        response.read()
        return response.status


def test_health_answers_at_once_while_catastrophic_validations_run(app, alice):
    """Behind a real threaded waitress: clients keep posting the pathological record while
    /health/live is asked; with a backtracking engine that holds the GIL it never answers."""
    create(app, alice, {"properties": {"s": {"pattern": EVIL}}})
    server = StopableWSGIServer.create(app.app)
    try:
        attack = {"data": {"s": "a" * 5000 + "!"}}
        url = records_url("c")
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            attacks = [
                pool.submit(request, server, "POST", url, alice.headers, attack) for _ in range(9)
            ]
            time.sleep(0.05)
            started = time.monotonic()
            assert request(server, "GET", "/health/live") == 200
            assert time.monotonic() - started < 2
            assert [future.result(timeout=30) for future in attacks] == [400] * 9
    finally:
        server.shutdown()
        server.runner.join(timeout=10)
