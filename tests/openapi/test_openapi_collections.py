"""Each data collection's schema is a component of the served document, for those who may see it."""

from __future__ import annotations

from typing import Any

import webtest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from benben.data.openapi import collection_component
from benben.openapi.document import DOCUMENT_KEY
from benben.testing_auth import add_user, bearer, login

URI = "urn:benben:openapi"
PRODUCT = {
    "type": "object",
    "required": ["name", "price"],
    "properties": {"name": {"type": "string"}, "price": {"$ref": "#/$defs/money"}},
    "$defs": {"money": {"type": "number", "minimum": 0}},
}


def component_validator(document: dict[str, Any], name: str) -> Draft202012Validator:
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource(URI, resource)
    return Draft202012Validator({"$ref": f"{URI}#/components/schemas/{name}"}, registry=registry)


def test_collection_schemas_are_components_for_those_who_may_see_them(
    app: webtest.TestApp, admin_headers: dict[str, str]
) -> None:
    app.post_json(
        "/api/v1/collections",
        {"id": "products", "title": "Products", "schema": PRODUCT},
        headers=admin_headers,
    )
    app.post_json(
        "/api/v1/collections",
        {"id": "public-notes", "permissions": {"read": ["system.Everyone"]}},
        headers=admin_headers,
    )
    add_user(app.app.registry, "alice")
    alice = bearer(login(app, "alice")["access_token"])

    as_admin = app.get("/api/v1/openapi.json", headers=admin_headers).json
    validate(as_admin)
    schemas = as_admin["components"]["schemas"]
    products = schemas["Collection_products_Data"]
    assert products["properties"]["price"] == {
        "$ref": "#/components/schemas/Collection_products_Data/$defs/money"
    }
    assert "products" in products["description"]
    assert schemas["Collection_public-notes_Data"]["type"] == "object"
    # The relocated schema still means what the collection's schema means.
    validator = component_validator(as_admin, "Collection_products_Data")
    assert validator.is_valid({"name": "tea", "price": 3})
    assert not validator.is_valid({"name": "tea", "price": -3})
    # ...which is what the data API enforces.
    app.post_json(
        "/api/v1/collections/products/records",
        {"data": {"name": "tea", "price": -3}},
        headers=admin_headers,
        status=400,
    )

    for headers in (alice, {}):
        seen = app.get("/api/v1/openapi.json", headers=headers).json["components"]["schemas"]
        assert "Collection_products_Data" not in seen
        assert "Collection_public-notes_Data" in seen


def test_a_new_collection_appears_at_once_without_regenerating_the_document(
    app: webtest.TestApp, admin_headers: dict[str, str]
) -> None:
    before = app.get("/api/v1/openapi.json", headers=admin_headers)
    generated = app.app.registry[DOCUMENT_KEY]
    app.post_json("/api/v1/collections", {"id": "late"}, headers=admin_headers)
    after = app.get("/api/v1/openapi.json", headers=admin_headers)
    assert app.app.registry[DOCUMENT_KEY] is generated
    assert collection_component("late") in after.json["components"]["schemas"]
    assert collection_component("late") not in before.json["components"]["schemas"]
    assert after.etag != before.etag
