"""Placing schemas into the document: named components, relocated references, path templates."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from benben.openapi.schemas import SchemaComponents, component_name, relocate_refs
from benben.openapi.served import openapi_path

URI = "urn:test:document"


def validator_at(document: dict[str, Any], pointer: str) -> Draft202012Validator:
    """A validator for the schema at ``pointer`` in ``document``, resolving references in it."""
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource(URI, resource)
    return Draft202012Validator({"$ref": f"{URI}#{pointer}"}, registry=registry)


PRODUCT = {
    "type": "object",
    "required": ["price"],
    "properties": {"price": {"$ref": "#/$defs/money"}, "tags": {"const": {"$ref": "#/x"}}},
    "$defs": {"money": {"type": "number", "minimum": 0}},
}


def test_local_references_follow_the_schema_to_its_new_place() -> None:
    placed = relocate_refs(PRODUCT, "/components/schemas/Product")
    assert placed["properties"]["price"] == {"$ref": "#/components/schemas/Product/$defs/money"}
    # const is data, not a schema: left alone. The original is not changed.
    assert placed["properties"]["tags"] == {"const": {"$ref": "#/x"}}
    assert PRODUCT["properties"]["price"] == {"$ref": "#/$defs/money"}
    document = {"components": {"schemas": {"Product": placed}}}
    validator = validator_at(document, "/components/schemas/Product")
    assert validator.is_valid({"price": 3})
    assert not validator.is_valid({"price": -1})


def test_schemas_with_their_own_id_and_component_references_keep_their_references() -> None:
    own = {"$id": "urn:example:product", "$defs": {"a": {}}, "items": {"$ref": "#/$defs/a"}}
    assert relocate_refs(own, "/elsewhere") == own
    shared = {"allOf": [{"$ref": "#/components/schemas/Problem"}]}
    assert relocate_refs(shared, "/elsewhere") == shared


def test_titled_schemas_become_named_components_once() -> None:
    user = {"title": "User", "type": "object", "properties": {"id": {"type": "string"}}}
    page = {"title": "UserList", "type": "object", "properties": {"users": {"items": user}}}
    components = SchemaComponents()
    assert components.place(page, "/x") == {"$ref": "#/components/schemas/UserList"}
    assert components.place(user, "/y") == {"$ref": "#/components/schemas/User"}
    assert components.schemas["UserList"]["properties"]["users"]["items"] == {
        "$ref": "#/components/schemas/User"
    }
    assert set(components.schemas) == {"User", "UserList"}


def test_different_schemas_with_one_title_get_distinct_names() -> None:
    components = SchemaComponents()
    first = components.place({"title": "Thing", "type": "string"}, "/a")
    second = components.place({"title": "Thing", "type": "integer"}, "/b")
    assert first == {"$ref": "#/components/schemas/Thing"}
    assert second == {"$ref": "#/components/schemas/Thing_2"}
    assert components.schemas["Thing_2"]["type"] == "integer"


def test_untitled_schemas_stay_inline_with_relocated_references() -> None:
    components = SchemaComponents()
    placed = components.place({"title": "not a name", **PRODUCT}, "/paths/~1p/post/schema")
    assert placed["properties"]["price"] == {"$ref": "#/paths/~1p/post/schema/$defs/money"}
    assert components.schemas == {}


@pytest.mark.parametrize(
    ("text", "name"),
    [("notes", "notes"), ("orders/2024", "orders_2024"), ("a b", "a_b"), ("ok.v-1_x", "ok.v-1_x")],
)
def test_component_names_are_valid(text: str, name: str) -> None:
    assert component_name(text) == name


@pytest.mark.parametrize(
    ("pattern", "path", "parameters"),
    [
        ("/api/v1/users/{id}", "/api/v1/users/{id}", [("id", None)]),
        ("things/{tid:\\d+}/x", "/things/{tid}/x", [("tid", "^\\d+$")]),
        ("/files/*subpath", "/files/{subpath}", [("subpath", None)]),
        ("/a/{b:[a-z]{2,3}}", "/a/{b}", [("b", "^[a-z]{2,3}$")]),
        ("/plain", "/plain", []),
    ],
)
def test_route_patterns_become_path_templates(
    pattern: str, path: str, parameters: list[tuple[str, str | None]]
) -> None:
    template, found = openapi_path(pattern)
    assert template == path
    assert [(p["name"], p["schema"].get("pattern")) for p in found] == parameters
    assert all(p["in"] == "path" and p["required"] for p in found)
