"""benben.openapi.compat: each incompatible change is found; compatible ones pass."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benben.openapi.compat import breaking_changes, main

Document = dict[str, Any]

PROBLEM = {"description": "A problem.", "content": {"application/problem+json": {"schema": {}}}}
BASE: Document = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/things": {
            "get": {
                "operationId": "listThings",
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "maximum": 100},
                    },
                    {"$ref": "#/components/parameters/RequestId"},
                ],
                "responses": {
                    "200": {
                        "description": "A page.",
                        "headers": {"ETag": {"schema": {"type": "string"}}},
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ThingList"}
                            }
                        },
                    },
                    "400": PROBLEM,
                },
            },
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ThingBody"}}
                    },
                },
                "responses": {
                    "201": {
                        "description": "Created.",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}
                        },
                    },
                    "default": {"$ref": "#/components/responses/Problem"},
                },
            },
        },
        "/things/{id}": {
            "get": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "A thing."}},
            },
            "delete": {"responses": {"204": {"description": "Gone."}}},
        },
    },
    "components": {
        "parameters": {
            "RequestId": {"name": "X-Request-ID", "in": "header", "schema": {"type": "string"}}
        },
        "responses": {"Problem": PROBLEM},
        "schemas": {
            "Thing": {
                "type": "object",
                "required": ["id", "status"],
                "properties": {
                    "id": {"type": "string"},
                    "status": {"type": "string", "enum": ["draft", "published"]},
                    "tags": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                    },
                    "meta": {"allOf": [{"$ref": "#/components/schemas/Meta"}]},
                    "parent": {"$ref": "#/components/schemas/Thing"},
                },
            },
            "Meta": {"type": "object", "properties": {"created": {"type": "string"}}},
            "ThingList": {
                "type": "object",
                "required": ["data"],
                "properties": {
                    "data": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}},
                    "next": {"type": ["string", "null"]},
                },
            },
            "ThingBody": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "maxLength": 100},
                    "status": {"type": "string", "enum": ["draft", "published"]},
                    "size": {"type": "number"},
                },
                "additionalProperties": False,
            },
        },
    },
}

THING = "components/schemas/Thing (response)"
BODY = "components/schemas/ThingBody (request)"
Mutation = Callable[[Document], None]


def changed(mutate: Mutation) -> list[str]:
    new = copy.deepcopy(BASE)
    mutate(new)
    return breaking_changes(BASE, new)


def schemas(document: Document) -> dict[str, Any]:
    return document["components"]["schemas"]


def get_things(document: Document) -> dict[str, Any]:
    return document["paths"]["/things"]["get"]


BREAKING: list[tuple[str, Mutation, list[str]]] = [
    ("removed path", lambda d: d["paths"].pop("/things/{id}"), ["/things/{id}: path removed"]),
    (
        "removed operation",
        lambda d: d["paths"]["/things/{id}"].pop("delete"),
        ["DELETE /things/{id}: operation removed"],
    ),
    (
        "removed success status",
        lambda d: (
            d["paths"]["/things/{id}"]["delete"]["responses"].update(
                {"200": {"description": "Gone."}}
            )
            or d["paths"]["/things/{id}"]["delete"]["responses"].pop("204")
        ),
        ["DELETE /things/{id}: response 204 removed"],
    ),
    (
        "operationId changed",
        lambda d: get_things(d).update(operationId="getThings"),
        ["GET /things: operationId 'listThings' changed to 'getThings'"],
    ),
    (
        "removed response property",
        lambda d: schemas(d)["Thing"]["properties"].pop("id"),
        [f"{THING}: /id removed"],
    ),
    (
        "response property retyped",
        lambda d: schemas(d)["Thing"]["properties"]["id"].update(type="integer"),
        [f"{THING}: /id type changed from string to integer (integer unexpected)"],
    ),
    (
        "response property may be null, through allOf",
        lambda d: schemas(d)["Meta"]["properties"]["created"].update(type=["string", "null"]),
        [f"{THING}: /meta/created type changed from string to null|string (null unexpected)"],
    ),
    (
        "property of array items removed",
        lambda d: schemas(d)["Thing"]["properties"]["tags"]["items"]["properties"].pop("name"),
        [f"{THING}: /tags/*/name removed"],
    ),
    (
        "response property no longer required",
        lambda d: schemas(d)["Thing"].update(required=["id"]),
        [f"{THING}: /status may now be absent (no longer required)"],
    ),
    (
        "response enum value removed",
        lambda d: schemas(d)["Thing"]["properties"]["status"].update(enum=["draft"]),
        [f'{THING}: /status enum value "published" removed'],
    ),
    (
        "response header removed",
        lambda d: get_things(d)["responses"]["200"].pop("headers"),
        ["GET /things 200: header ETag no longer documented"],
    ),
    (
        "response media type removed",
        lambda d: d["paths"]["/things"]["post"]["responses"]["201"].update(content={}),
        ["POST /things 201: media type application/json removed"],
    ),
    (
        "request property became required",
        lambda d: schemas(d)["ThingBody"].update(required=["name", "status"]),
        [f"{BODY}: /status became required"],
    ),
    (
        "request enum value removed",
        lambda d: schemas(d)["ThingBody"]["properties"]["status"].update(enum=["published"]),
        [f'{BODY}: /status enum value "draft" removed'],
    ),
    (
        "request type narrowed",
        lambda d: schemas(d)["ThingBody"]["properties"]["size"].update(type="integer"),
        [f"{BODY}: /size type narrowed from number to integer"],
    ),
    (
        "request bound tightened",
        lambda d: schemas(d)["ThingBody"]["properties"]["name"].update(maxLength=10),
        [f"{BODY}: /name maxLength tightened from 100 to 10"],
    ),
    (
        "request property no longer accepted",
        lambda d: schemas(d)["ThingBody"]["properties"].pop("size"),
        [f"{BODY}: /size no longer accepted"],
    ),
    (
        "request media type removed",
        lambda d: d["paths"]["/things"]["post"]["requestBody"].update(content={}),
        ["POST /things: request media type application/json no longer accepted"],
    ),
    (
        "parameter removed",
        lambda d: get_things(d)["parameters"].pop(0),
        ["GET /things: query parameter 'limit' removed"],
    ),
    (
        "parameter became required",
        lambda d: get_things(d)["parameters"][0].update(required=True),
        ["GET /things: query parameter 'limit' became required"],
    ),
    (
        "new required parameter",
        lambda d: get_things(d)["parameters"].append(
            {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}}
        ),
        ["GET /things: new required query parameter 'q'"],
    ),
    (
        "parameter bound tightened",
        lambda d: get_things(d)["parameters"][0]["schema"].update(maximum=50),
        ["GET /things query parameter 'limit': maximum tightened from 100 to 50"],
    ),
    (
        "a request body where there was none",
        lambda d: d["paths"]["/things/{id}"]["delete"].update(
            requestBody={"required": True, "content": {"application/json": {"schema": {}}}}
        ),
        ["DELETE /things/{id}: a request body became required"],
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [(m, e) for _, m, e in BREAKING], ids=[i for i, _, _ in BREAKING]
)
def test_an_incompatible_change_is_reported(mutate: Mutation, expected: list[str]) -> None:
    assert changed(mutate) == expected


def _rename_component(document: Document) -> None:
    schemas(document)["Item"] = schemas(document).pop("Thing")
    text = json.dumps(document).replace('#/components/schemas/Thing"', '#/components/schemas/Item"')
    document.clear()
    document.update(json.loads(text))


COMPATIBLE: list[tuple[str, Mutation]] = [
    ("added path", lambda d: d["paths"].update({"/more": {"get": {"responses": {}}}})),
    ("added operation", lambda d: d["paths"]["/things/{id}"].update(put={"responses": {}})),
    (
        "added optional parameter",
        lambda d: get_things(d)["parameters"].append({"name": "q", "in": "query"}),
    ),
    (
        "added response property",
        lambda d: schemas(d)["Thing"]["properties"].update(colour={"type": "string"}),
    ),
    (
        "added response enum value",
        lambda d: schemas(d)["Thing"]["properties"]["status"]["enum"].append("archived"),
    ),
    (
        "response property became required",
        lambda d: schemas(d)["Meta"].update(required=["created"]),
    ),
    (
        "added optional request property",
        lambda d: schemas(d)["ThingBody"]["properties"].update(colour={"type": "string"}),
    ),
    (
        "request enum value added",
        lambda d: schemas(d)["ThingBody"]["properties"]["status"]["enum"].append("archived"),
    ),
    (
        "request bound loosened",
        lambda d: schemas(d)["ThingBody"]["properties"]["name"].update(maxLength=200),
    ),
    (
        "request type widened",
        lambda d: schemas(d)["ThingBody"]["properties"]["size"].update(type=["number", "string"]),
    ),
    ("request property no longer required", lambda d: schemas(d)["ThingBody"].update(required=[])),
    ("error response removed", lambda d: get_things(d)["responses"].pop("400")),
    (
        "added response header",
        lambda d: get_things(d)["responses"]["200"]["headers"].update(
            {"Link": {"schema": {"type": "string"}}}
        ),
    ),
    ("component renamed", _rename_component),
    (
        "path parameter says it is not empty",
        lambda d: d["paths"]["/things/{id}"]["get"].update(
            parameters=[
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1},
                }
            ]
        ),
    ),
]


@pytest.mark.parametrize("mutate", [m for _, m in COMPATIBLE], ids=[i for i, _ in COMPATIBLE])
def test_a_compatible_change_passes(mutate: Mutation) -> None:
    assert changed(mutate) == []


def test_a_shared_component_is_reported_once_and_recursion_ends() -> None:
    # Thing is reached from two operations and refers to itself (parent): one line.
    breaks = changed(lambda d: schemas(d)["Thing"]["properties"]["status"].update(enum=[]))
    assert breaks == [
        f'{THING}: /status enum value "draft" removed',
        f'{THING}: /status enum value "published" removed',
    ]


def test_command_prints_one_line_per_break(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(BASE), "utf-8")
    document = copy.deepcopy(BASE)
    del document["paths"]["/things/{id}"]
    get_things(document)["parameters"].pop(0)
    new.write_text(json.dumps(document), "utf-8")
    assert main([str(old), str(new)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "GET /things: query parameter 'limit' removed",
        "/things/{id}: path removed",
    ]
    assert "2 incompatible change(s)" in captured.err
    assert main([str(old), str(old)]) == 0
    assert capsys.readouterr().out == ""
    assert main([str(old), str(tmp_path / "missing.json")]) == 2
    assert "cannot read an OpenAPI document" in capsys.readouterr().err
