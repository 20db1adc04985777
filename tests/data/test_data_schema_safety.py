"""Collection schemas reach nothing outside themselves: no reference leaves the document, nothing
is ever fetched (at schema time or when a record is validated), and the dialect is one Benben
ships.  Patterns are covered by test_data_schema_patterns.py."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from data_query_support import engine_of
from data_support import COLLECTIONS, pointers, records_url
from sqlalchemy.orm import Session

from benben.data.models import Collection


def create(app: Any, user: Any, schema: Any, status: int = 201) -> Any:
    body = {"id": "c", "schema": schema}
    return app.post_json(COLLECTIONS, body, headers=user.headers, status=status)


@contextlib.contextmanager
def silent_listener() -> Iterator[tuple[str, socket.socket]]:
    """A host that accepts connections (the kernel completes them in the backlog) and never
    answers: what held every waitress thread for 74 s when schemas were fetched."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/schema.json", sock
    finally:
        sock.close()


def contacted(sock: socket.socket) -> bool:
    """Whether a connection is waiting in the listener's backlog."""
    return bool(select.select([sock], [], [], 0.2)[0])


OUTSIDE = [
    {"$ref": "http://example.org/s.json"},
    {"$ref": "https://example.org/s.json#/$defs/x"},
    {"$ref": "file:///etc/passwd"},
    {"$ref": "other.json"},
    {"$ref": "https://json-schema.org/draft/2020-12/schema"},
    {"$dynamicRef": "http://example.org/s.json#meta"},
    {"$defs": {"a": {"$ref": "http://example.org/s.json"}}},
    {"properties": {"enum": {"$ref": "http://example.org/s.json"}}},
    {"properties": {"const": {"$ref": "http://example.org/s.json"}}},
    {"properties": {"default": {"$ref": "http://example.org/s.json"}}},
    {"properties": {"examples": {"$ref": "http://example.org/s.json"}}},
    {"$defs": {"enum": {"$ref": "http://example.org/s.json"}}},
    {"$defs": {"const": {"$ref": "http://example.org/s.json"}}},
    {"$defs": {"default": {"$ref": "http://example.org/s.json"}}},
    {"$defs": {"examples": {"$ref": "http://example.org/s.json"}}},
    {"items": {"anyOf": [{"not": {"$ref": "http://example.org/s.json"}}]}},
]


def pointer_of_ref(schema: Any, path: tuple[Any, ...] = ("schema",)) -> str:
    for key, value in schema.items():
        if key in ("$ref", "$dynamicRef"):
            return "/" + "/".join(map(str, (*path, key)))
        if isinstance(value, dict):
            found = pointer_of_ref(value, (*path, key))
            if found:
                return found
        if isinstance(value, list):
            for index, item in enumerate(value):
                found = pointer_of_ref(item, (*path, key, index))
                if found:
                    return found
    return ""


@pytest.mark.parametrize("schema", OUTSIDE, ids=[pointer_of_ref(s)[8:] or "?" for s in OUTSIDE])
def test_references_outside_the_schema_are_a_400_with_their_pointer(app, alice, schema):
    response = create(app, alice, schema, status=400)
    assert pointers(response) == [pointer_of_ref(schema)]
    assert "inside this schema" in response.json["errors"][0]["message"]
    app.get(f"{COLLECTIONS}/c", headers=alice.headers, status=404)


@pytest.mark.parametrize("keyword", ["enum", "const", "default", "examples"])
def test_data_keywords_holding_reference_lookalikes_are_data(app, alice, keyword):
    """Under enum/const/default/examples a "$ref" member is a value, never followed."""
    value = {"$ref": "http://example.org/s.json"}
    data = [value] if keyword in ("enum", "examples") else value
    schema = {"properties": {"v": {keyword: data}}}
    create(app, alice, schema)
    if keyword in ("enum", "const"):
        app.post_json(records_url("c"), {"data": {"v": value}}, headers=alice.headers, status=201)
        response = app.post_json(
            records_url("c"), {"data": {"v": 1}}, headers=alice.headers, status=400
        )
        assert pointers(response) == ["/data/v"]


def test_a_reference_to_data_rather_than_a_subschema_is_refused(app, alice):
    schema = {"properties": {"a": {"const": {"pattern": "^x"}}}, "$ref": "#/properties/a/const"}
    response = create(app, alice, schema, status=400)
    assert pointers(response) == ["/schema/$ref"]
    assert "not at a subschema" in response.json["errors"][0]["message"]


def test_references_inside_the_document_work_pointers_anchors_and_ids(app, alice):
    schema = {
        "$id": "https://example.com/root.json",
        "$defs": {
            "name": {"$id": "name.json", "type": "string", "maxLength": 5},
            "count": {"$anchor": "count", "type": "integer"},
        },
        "properties": {
            "by_id": {"$ref": "name.json"},
            "by_anchor": {"$ref": "#count"},
            "by_pointer": {"$ref": "#/$defs/count"},
        },
    }
    create(app, alice, schema)
    good = {"by_id": "ab", "by_anchor": 1, "by_pointer": 2}
    app.post_json(records_url("c"), {"data": good}, headers=alice.headers, status=201)
    bad = {"by_id": "abcdefgh", "by_anchor": "x", "by_pointer": 1.5}
    response = app.post_json(records_url("c"), {"data": bad}, headers=alice.headers, status=400)
    assert pointers(response) == ["/data/by_anchor", "/data/by_id", "/data/by_pointer"]


def test_an_id_relative_reference_to_a_resource_not_in_the_document_is_refused(app, alice):
    schema = {"$id": "https://example.com/root.json", "properties": {"a": {"$ref": "name.json"}}}
    assert pointers(create(app, alice, schema, status=400)) == ["/schema/properties/a/$ref"]


@pytest.mark.parametrize(
    "uri",
    [
        "https://json-schema.org/draft/2020-12/schema",
        "https://json-schema.org/draft/2020-12/schema#",
        "https://json-schema.org/draft/2019-09/schema",
        "https://json-schema.org/draft/2019-09/schema#",
        "http://json-schema.org/draft-07/schema#",
        "http://json-schema.org/draft-07/schema",
    ],
)
def test_the_shipped_drafts_are_accepted_and_never_fetched(app, alice, uri):
    create(app, alice, {"$schema": uri, "properties": {"n": {"type": "integer"}}})
    response = app.post_json(
        records_url("c"), {"data": {"n": "x"}}, headers=alice.headers, status=400
    )
    assert pointers(response) == ["/data/n"]


def test_a_draft_07_schema_keeps_its_own_meaning(app, alice):
    """Tuple "items" is draft-07 (2020-12 calls it prefixItems): validated as declared."""
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "properties": {"pair": {"items": [{"type": "integer"}, {"type": "string"}]}},
    }
    create(app, alice, schema)
    app.post_json(records_url("c"), {"data": {"pair": [1, "a"]}}, headers=alice.headers)
    response = app.post_json(
        records_url("c"), {"data": {"pair": ["a", 1]}}, headers=alice.headers, status=400
    )
    assert pointers(response) == ["/data/pair/0", "/data/pair/1"]


@pytest.mark.parametrize(
    ("schema", "pointer"),
    [
        ({"$schema": "http://evil.example/x"}, "/schema/$schema"),
        ({"$schema": "http://json-schema.org/draft-04/schema#"}, "/schema/$schema"),
        ({"$schema": 7}, "/schema/$schema"),
        (
            {"properties": {"a": {"$schema": "http://json-schema.org/draft-07/schema#"}}},
            "/schema/properties/a/$schema",
        ),
    ],
)
def test_other_dialects_and_dialects_below_the_root_are_refused(app, alice, schema, pointer):
    assert pointers(create(app, alice, schema, status=400)) == [pointer]


@pytest.mark.parametrize("where", ["root", "$defs"])
def test_a_host_that_never_answers_is_not_even_contacted(app, alice, where):
    with silent_listener() as (url, sock):
        schema = {"$ref": url} if where == "root" else {"$defs": {"a": {"$ref": url}}}
        started = time.monotonic()
        response = create(app, alice, schema, status=400)
        assert time.monotonic() - started < 2  # was: held until the client gave up
        assert not contacted(sock)
    assert pointers(response) == [pointer_of_ref(schema)]


def test_a_stored_outside_reference_is_never_fetched_when_records_are_validated(app, admin):
    """Defence in depth: a schema stored before these checks (or written around them) cannot
    make the record validator fetch either; the record is refused, not a 500."""
    with silent_listener() as (url, sock):
        with Session(engine_of(app.app.registry)) as session, session.begin():
            session.add(
                Collection(id="old", schema={"properties": {"a": {"$ref": url}}}, indexed_fields=[])
            )
        started = time.monotonic()
        response = app.post_json(
            records_url("old"), {"data": {"a": 1}}, headers=admin.headers, status=400
        )
        assert time.monotonic() - started < 2
        assert not contacted(sock)
    assert pointers(response) == ["/data"]
    assert "cannot be applied" in response.json["errors"][0]["message"]
