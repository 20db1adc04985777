"""Validation messages in JSON's terms: every keyword jsonschema reports, in every dialect Benben
runs, told without Python's spelling of values (None, True, 'x', [...] reprs)."""

from __future__ import annotations

import re

import pytest

from benben.jsonschemas import DIALECTS, make_validator
from benben.rest import schema_errors

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
DRAFT_2019 = "https://json-schema.org/draft/2019-09/schema"

# Keyword -> (schema, an instance it refuses, the message expected at the pointer).
CASES = {
    "type": ({"type": "object"}, None, "", "must be an object, not null"),
    "type/several": (
        {"type": ["string", "null"]},
        True,
        "",
        "must be a string or null, not a boolean",
    ),
    "enum": ({"enum": ["a", None, True, 1.5]}, "b", "", 'must be one of "a", null, true, 1.5'),
    "const": ({"const": None}, False, "", "must be null"),
    "minimum": ({"minimum": 0}, -1, "", "must be at least 0"),
    "maximum": ({"maximum": 10}, 11, "", "must be at most 10"),
    "exclusiveMinimum": ({"exclusiveMinimum": 0}, 0, "", "must be greater than 0"),
    "exclusiveMaximum": ({"exclusiveMaximum": 1.5}, 2, "", "must be less than 1.5"),
    "multipleOf": ({"multipleOf": 2}, 3, "", "must be a multiple of 2"),
    "minLength": ({"minLength": 2}, "a", "", "must have at least 2 characters"),
    "maxLength": ({"maxLength": 1}, "ab", "", "must have at most 1 character"),
    "minItems": ({"minItems": 1}, [], "", "must have at least 1 item"),
    "maxItems": ({"maxItems": 1}, [None, True], "", "must have at most 1 item"),
    "minProperties": ({"minProperties": 1}, {}, "", "must have at least 1 member"),
    "maxProperties": ({"maxProperties": 1}, {"a": 1, "b": 2}, "", "must have at most 1 member"),
    "uniqueItems": ({"uniqueItems": True}, [None, None], "", "must not hold the same item twice"),
    "pattern": ({"pattern": "^a+$"}, "b", "", 'must match the pattern "^a+$"'),
    "format": ({"format": "email"}, "nobody", "", 'must be a valid "email" (the format)'),
    "required": ({"required": ["x"]}, {}, "/x", "is required"),
    "additionalProperties": (
        {"properties": {"a": {}}, "additionalProperties": False},
        {"b": None},
        "/b",
        "unknown field; accepted: a",
    ),
    "additionalProperties/patterns": (
        {"patternProperties": {"^x": {}}, "additionalProperties": False},
        {"y": 1},
        "/y",
        "unknown field",
    ),
    "unevaluatedProperties": (
        {"allOf": [{"properties": {"a": {}}}], "unevaluatedProperties": False},
        {"a": 1, "b": True},
        "/b",
        "unknown field",
    ),
    "unevaluatedProperties/schema": (
        {"unevaluatedProperties": {"type": "string"}},
        {"b": None},
        "/b",
        "is not accepted by the schema",
    ),
    "dependentRequired": (
        {"dependentRequired": {"a": ["b"]}},
        {"a": None},
        "/b",
        'is required when "a" is present',
    ),
    "oneOf/none": (
        {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        None,
        "",
        'must match one of the schemas under "oneOf" (the nearest: must be',
    ),
    "oneOf/several": (
        {"oneOf": [{"type": "integer"}, {"minimum": 0}]},
        1,
        "",
        'must match exactly one of the schemas under "oneOf"; it matches several',
    ),
    "anyOf": (
        {"anyOf": [{"type": "string"}, {"type": "array"}]},
        False,
        "",
        'must match at least one of the schemas under "anyOf" (the nearest: must be',
    ),
    "not": ({"not": {"type": "null"}}, None, "", 'must not match the schema under "not"'),
    "contains": (
        {"contains": {"const": True}},
        [False],
        "",
        'must hold at least 1 item matching the schema under "contains"',
    ),
    "minContains": (
        {"contains": {"type": "null"}, "minContains": 2},
        [None],
        "",
        'must hold at least 2 items matching the schema under "contains"',
    ),
    "maxContains": (
        {"contains": {"type": "null"}, "maxContains": 1},
        [None, None],
        "",
        'must hold at most 1 item matching the schema under "contains"',
    ),
    "items": ({"prefixItems": [{}], "items": False}, [1, None], "", "must have at most 1 item"),
    "items/nested": (
        {"items": {"type": "string"}},
        ["a", True],
        "/1",
        "must be a string, not a boolean",
    ),
    "unevaluatedItems": (
        {"prefixItems": [{}], "unevaluatedItems": False},
        [1, "x"],
        "",
        "has items that no schema here accepts",
    ),
    "propertyNames": (
        {"propertyNames": {"maxLength": 1}},
        {"ab": None},
        "",
        'member name "ab" must have at most 1 character',
    ),
    "if/then": ({"if": {"type": "integer"}, "then": {"minimum": 5}}, 1, "", "must be at least 5"),
    "$ref": (
        {"$defs": {"n": {"type": "null"}}, "$ref": "#/$defs/n"},
        0,
        "",
        "must be null, not an integer",
    ),
    "false": (
        {"properties": {"a": False}},
        {"a": None},
        "",
        "is or holds a value that a false schema forbids",
    ),
}
# Keywords of older dialects, checked in their own.
LEGACY = {
    "additionalItems": (
        {"$schema": DRAFT_07, "items": [{}], "additionalItems": False}, [1, None], "",
        "must have at most 1 item",
    ),
    "dependencies": (
        {"$schema": DRAFT_07, "dependencies": {"a": ["b"]}}, {"a": True}, "/b",
        'is required when "a" is present',
    ),
    "exclusiveMinimum/draft-07": (
        {"$schema": DRAFT_07, "exclusiveMinimum": 0}, 0, "", "must be greater than 0",
    ),
    "unevaluatedProperties/2019-09": (
        {"$schema": DRAFT_2019, "properties": {"a": {}}, "unevaluatedProperties": False},
        {"b": None}, "/b", "unknown field",
    ),
    "unevaluatedItems/2019-09": (
        {"$schema": DRAFT_2019, "items": [{}], "unevaluatedItems": False}, [1, 2], "",
        "has items that no schema here accepts",
    ),
}  # fmt: skip
# Keywords that never report a violation of their own: they only apply subschemas (whose
# keywords report), hold annotations, or are read by a neighbour (minContains by contains).
APPLY_ONLY = {
    "$ref", "$dynamicRef", "$recursiveRef", "allOf", "properties", "patternProperties",
    "dependentSchemas", "if", "prefixItems", "minContains", "maxContains",
}  # fmt: skip
# What Python's spelling would show: None/True/False, or a value in single quotes ('x', ['a']).
PYTHON_SPELLING = re.compile(r"\b(None|True|False)\b|'[^']*'|\[\]|\{\}")


def messages(schema, instance):
    return {e["pointer"]: e["message"] for e in schema_errors(make_validator(schema), instance)}


@pytest.mark.parametrize(("schema", "instance", "pointer", "expected"), [
    pytest.param(*case, id=name) for name, case in {**CASES, **LEGACY}.items()
])  # fmt: skip
def test_each_keyword_is_told_in_json_terms(schema, instance, pointer, expected):
    found = messages(schema, instance)
    assert pointer in found, found
    assert found[pointer].startswith(expected), found
    for message in found.values():
        assert not PYTHON_SPELLING.search(message), message


def test_every_keyword_of_every_dialect_is_covered():
    """A keyword a new jsonschema release (or dialect) adds must get a message here too."""
    named = {name.split("/")[0] for name in {**CASES, **LEGACY}}
    for dialect in DIALECTS.values():
        reporting = set(dialect.validator_class.VALIDATORS) - APPLY_ONLY
        assert reporting <= named, (dialect.uri, sorted(reporting - named))


def test_long_values_are_named_not_echoed():
    (message,) = messages({"enum": ["a" * 500, *range(20)]}, "b").values()
    assert len(message) < 400
    assert "(and 11 more)" in message
