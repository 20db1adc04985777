"""benben.jsonschemas: the dialects Benben runs (RE2 patterns, nothing fetched, one class
throughout), and request-body schemas on the same engine."""

from __future__ import annotations

import time

import pytest
from jsonschema.exceptions import SchemaError
from referencing.exceptions import Unresolvable

from benben.data.schema_safety import subschemas
from benben.jsonschemas import DIALECTS, NO_FETCH, body_validator, make_validator
from benben.rest import Service
from benben.testing_auth import FAST_PASSWORD_HASHING, add_user, bearer, login

EVIL = "^(a+)+$"
EVIL_TEXT = "a" * 40 + "!"
# Every keyword of every accepted draft, each holding a distinct subschema.
EVERY_KEYWORD = {
    **{
        keyword: {"title": keyword}
        for keyword in [
            "additionalItems",
            "additionalProperties",
            "contains",
            "contentSchema",
            "else",
            "if",
            "items",
            "not",
            "propertyNames",
            "then",
            "unevaluatedItems",
            "unevaluatedProperties",
        ]
    },
    **{k: [{"title": f"{k}0"}, {"title": f"{k}1"}] for k in ("allOf", "anyOf", "oneOf")},
    "prefixItems": [{"title": "prefixItems0"}],
    **{
        k: {"a": {"title": f"{k}.a"}}
        for k in ("$defs", "definitions", "dependentSchemas", "patternProperties", "properties")
    },
    "enum": [{"title": "data"}],
    "const": {"title": "data"},
    "default": {"title": "data"},
    "examples": [{"title": "data"}],
    "x-unknown": {"title": "data"},
}


@pytest.mark.parametrize("uri", sorted(DIALECTS))
def test_the_walk_finds_the_subschemas_referencing_crawls_and_nothing_else(uri):
    """What is a schema and what is data, as the library that resolves references sees it."""
    dialect = DIALECTS[uri]
    schemas = [EVERY_KEYWORD]
    if dialect.items_array:  # 2020-12's meta-schema refuses an array there
        schemas.append({**EVERY_KEYWORD, "items": [{"title": "tuple"}]})
    for schema in schemas:
        walked = [node for path, node in subschemas(dialect, schema) if len(path) in (1, 2)]
        crawled = list(dialect.specification.subresources_of(schema))
        assert sorted(map(id, walked)) == sorted(map(id, crawled))
        assert all(node["title"] != "data" for node in walked)


def test_draft_07_dependencies_hold_schemas_and_name_lists():
    dialect = DIALECTS["http://json-schema.org/draft-07/schema"]
    schema = {"dependencies": {"a": {"title": "schema"}, "b": ["a"]}}
    assert [path for path, _ in subschemas(dialect, schema)] == [(), ("dependencies", "a")]


def test_the_registry_retrieves_nothing():
    with pytest.raises(Unresolvable):
        NO_FETCH.resolver().lookup("http://127.0.0.1:9/schema.json")


@pytest.mark.parametrize("uri", sorted(DIALECTS))
def test_a_subschema_naming_a_draft_does_not_switch_to_a_backtracking_validator(uri):
    """jsonschema would pick its stock class (Python's re) for a subschema with $schema, or
    for the root reached again through "#": the class stays Benben's."""
    schema = {"$schema": uri, "properties": {"s": {"pattern": EVIL}, "again": {"$ref": "#"}}}
    validator = make_validator(schema)
    assert type(validator.evolve(schema=schema)) is type(validator)
    started = time.monotonic()
    assert not validator.is_valid({"again": {"again": {"s": EVIL_TEXT}}})
    assert time.monotonic() - started < 1


def test_an_unknown_dialect_gets_no_validator():
    with pytest.raises(SchemaError):
        make_validator({"$schema": "http://evil.example/x"})


def test_a_body_schema_re2_cannot_run_fails_at_start_up_not_on_a_request():
    with pytest.raises(SchemaError):
        body_validator({"properties": {"name": {"pattern": r"(a)\1"}}})


NAMED = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "pattern": "^[a-z0-9]{1,63}$"}},
    "patternProperties": {EVIL: {"type": "integer"}},
    "additionalProperties": False,
}


def include_named(config):
    named = Service("test.jsonschemas.named", "/test/jsonschemas/named")

    @named.post(body_schema=NAMED, summary="A named thing")
    def create(request):
        return {"name": request.validated["name"]}

    config.add_cornice_service(named)


@pytest.fixture
def named_app(make_app):
    return make_app(include=include_named)


def test_a_body_pattern_refuses_a_final_newline(named_app):
    named_app.post_json("/test/jsonschemas/named", {"name": "abc"}, status=200)
    response = named_app.post_json("/test/jsonschemas/named", {"name": "abc\n"}, status=400)
    assert [e["pointer"] for e in response.json["errors"]] == ["/name"]


def test_body_patterns_run_on_re2(named_app):
    started = time.monotonic()
    body = {"name": "abc", EVIL_TEXT: 1}
    response = named_app.post_json("/test/jsonschemas/named", body, status=400)
    assert time.monotonic() - started < 1
    assert [e["pointer"] for e in response.json["errors"]] == [f"/{EVIL_TEXT}"]


@pytest.fixture
def data_app(make_app):
    return make_app({**FAST_PASSWORD_HASHING, "benben.ratelimit.enabled": "false"})


@pytest.mark.parametrize("body", [{"id": "notes\n"}, {"id": "ok", "indexed_fields": ["a\n"]}])
def test_ids_and_names_with_a_final_newline_are_a_400(data_app, body):
    add_user(data_app.app.registry, "alice")
    headers = bearer(login(data_app, "alice")["access_token"])
    response = data_app.post_json("/api/v1/collections", body, headers=headers, status=400)
    assert [e["pointer"] for e in response.json["errors"]] in (["/id"], ["/indexed_fields/0"])
