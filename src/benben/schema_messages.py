"""JSON Schema violations told in JSON's terms, for the people who sent the JSON.

jsonschema's own messages are written for Python programmers: ``None is not of type 'object'``,
``'x' is a required property``, ``[] is too short``, ``True is not of type 'integer'``.  Here each
keyword's violation is rendered from what the error holds (the keyword, its value in the schema,
the instance), never from jsonschema's text: values appear as JSON (``null``, ``true``, ``"x"``),
and the message says what is accepted.  The pointer, kept separately, says where.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from benben.jsonschema_keywords import compile_pattern

__all__ = ["json_text", "json_type", "member_messages", "message"]

# Values quoted in a message are cut here: the message names the value, it does not echo it.
_MAX_VALUE = 60
_MAX_LISTED = 10
_ARTICLES = {"array": "an array", "integer": "an integer", "object": "an object", "null": "null"}


def json_text(value: Any, limit: int = _MAX_VALUE) -> str:
    """``value`` as JSON text (``null``, ``true``, ``"x"``), cut to about ``limit`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        text = json.dumps(str(value), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_type(value: Any) -> str:
    """The JSON type of a parsed value: null, boolean, integer, number, string, array, object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, numbers.Number):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


def _a(type_name: str) -> str:
    return _ARTICLES.get(type_name, f"a {type_name}")


def _listed(values: Iterable[Any]) -> str:
    items = [json_text(v) for v in values]
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" (and {len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else "")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _type(error: ValidationError) -> str:
    wanted = error.validator_value
    names = [wanted] if isinstance(wanted, str) else list(wanted)
    expected = " or ".join(_a(str(name)) for name in names)
    return f"must be {expected}, not {_a(json_type(error.instance))}"


def _enum(error: ValidationError) -> str:
    values = list(error.validator_value)
    if len(values) == 1:
        return f"must be {json_text(values[0])}"
    return f"must be one of {_listed(values)}"


def _format(error: ValidationError) -> str:
    return f"must be a valid {json_text(error.validator_value)} (the format)"


def _pattern(error: ValidationError) -> str:
    return f"must match the pattern {json_text(error.validator_value, 200)}"


def _contains(error: ValidationError) -> str:
    count = error.schema.get("minContains", 1) if isinstance(error.schema, dict) else 1
    return f'must hold at least {_plural(count, "item")} matching the schema under "contains"'


def _one_of(error: ValidationError) -> str:
    if not error.context:
        return 'must match exactly one of the schemas under "oneOf"; it matches several'
    return _nearest('must match one of the schemas under "oneOf"', error)


def _any_of(error: ValidationError) -> str:
    return _nearest('must match at least one of the schemas under "anyOf"', error)


def _nearest(text: str, error: ValidationError) -> str:
    """The alternative that came closest: what would have made the value acceptable."""
    closest = best_match(error.context or ())
    if closest is None:
        return text
    where = "/".join(str(part) for part in closest.relative_path)
    said = message(closest)
    return f"{text} (the nearest: {where + ': ' if where else ''}{said})"


def _items(error: ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    allowed = len(schema.get("prefixItems", schema.get("items", [])))
    return f"must have at most {_plural(allowed, 'item')}"


def _dependencies(error: ValidationError) -> str:
    return "misses members another member requires"


def _number(word: str) -> Callable[[ValidationError], str]:
    return lambda error: f"must be {word} {json_text(error.validator_value)}"


def _count(word: str, noun: str) -> Callable[[ValidationError], str]:
    return lambda error: f"must have {word} {_plural(error.validator_value, noun)}"


_MESSAGES: dict[str | None, Callable[[ValidationError], str]] = {
    "type": _type,
    "enum": _enum,
    "const": lambda error: f"must be {json_text(error.validator_value)}",
    "minimum": _number("at least"),
    "maximum": _number("at most"),
    "exclusiveMinimum": _number("greater than"),
    "exclusiveMaximum": _number("less than"),
    "multipleOf": _number("a multiple of"),
    "minLength": _count("at least", "character"),
    "maxLength": _count("at most", "character"),
    "minItems": _count("at least", "item"),
    "maxItems": _count("at most", "item"),
    "minProperties": _count("at least", "member"),
    "maxProperties": _count("at most", "member"),
    "uniqueItems": lambda error: "must not hold the same item twice",
    "pattern": _pattern,
    "format": _format,
    "contains": _contains,
    "minContains": _contains,
    "maxContains": lambda error: (
        "must hold at most "
        f'{_plural(error.validator_value, "item")} matching the schema under "contains"'
    ),
    "oneOf": _one_of,
    "anyOf": _any_of,
    "not": lambda error: 'must not match the schema under "not"',
    "items": _items,
    "additionalItems": _items,
    "unevaluatedItems": lambda error: "has items that no schema here accepts",
    "dependencies": _dependencies,
    "dependentRequired": _dependencies,
    "additionalProperties": lambda error: "has members the schema does not accept",
    "unevaluatedProperties": lambda error: "has members the schema does not accept",
    "required": lambda error: "misses required members",
    # A false schema: jsonschema drops the member's path (and name) from these, so the pointer
    # may be the object holding the value rather than the value itself.
    None: lambda error: "is or holds a value that a false schema forbids",
}


def message(error: ValidationError) -> str:
    """What is wrong with the value at the error's pointer, in JSON's terms."""
    render = _MESSAGES.get(error.validator)
    text = (
        render(error)
        if render is not None
        else f"does not satisfy the keyword {json_text(error.validator)}"
    )
    if _in_property_names(error):
        return f"member name {json_text(error.instance)} {text}"
    return text


def _in_property_names(error: ValidationError) -> bool:
    # propertyNames checks each member name as an instance, at the object's own pointer.
    return "propertyNames" in error.relative_schema_path


def member_messages(error: ValidationError) -> list[tuple[str, str]]:
    """``(member, message)`` pairs for violations that are about members: each missing required
    member, each member an object does not accept, each member a present one requires.  Empty
    for other violations (their pointer is the value's own)."""
    instance = error.instance
    if not isinstance(instance, dict) or _in_property_names(error):
        return []
    value = error.validator_value
    if error.validator == "required":
        return [(name, "is required") for name in value if name not in instance]
    if error.validator in ("dependentRequired", "dependencies") and isinstance(value, Mapping):
        return [
            (name, f"is required when {json_text(present)} is present")
            for present, names in value.items()
            if present in instance and isinstance(names, list)
            for name in names
            if name not in instance
        ]
    if error.validator == "additionalProperties" and value is False:
        known = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        accepted = ", ".join(sorted(known))
        return [
            (name, f"unknown field; accepted: {accepted}" if accepted else "unknown field")
            for name in instance
            if name not in known and not any(_matches(p, name) for p in patterns)
        ]
    if error.validator == "unevaluatedProperties":
        refused = getattr(error, "refused_members", ())
        why = "unknown field" if value is False else "is not accepted by the schema"
        return [(name, why) for name in refused]
    return []


def _matches(pattern: str, name: str) -> bool:
    return compile_pattern(pattern).search(name) is not None
