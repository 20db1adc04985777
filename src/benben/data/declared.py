"""Whether a collection's schema declares a data path, for the list query's sorts and filters.

A schema that forbids members it does not declare (``additionalProperties: false``, or
``unevaluatedProperties: false``) says which fields records can have: sorting or filtering on
another one is a mistake (``_sort=prise``), refused with a 400 rather than answered with an order
that no record can give.  A schema that leaves members open says nothing of the kind, and the
field is accepted (records lacking it sort as missing: last ascending, first descending).

Only what the schema says for certain is refused: a level whose declared members cannot be known
without evaluating it (a ``$ref`` leaving the local document, ``$dynamicRef``, a subschema that
accepts any member) accepts every field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import jsonpointer

from benben.jsonschema_keywords import compile_pattern

__all__ = ["undeclared"]

# Subschemas applied to the same object as their parent ("in place"): what they declare, an
# unevaluatedProperties: false beside them accepts.
_IN_PLACE = ("allOf", "anyOf", "oneOf", "if", "then", "else")
_OPEN = object()  # a level that may accept any member
_DRAFT_07 = "http://json-schema.org/draft-07/schema"
_MAX_HOPS = 32  # $ref hops followed at one level: cycles and chains end here


def undeclared(schema: Any, path: Sequence[str]) -> str | None:
    """The first segment of ``path`` (``("address", "city")``) that ``schema`` forbids, as the
    dotted path up to it; None when the schema declares the path or leaves it open."""
    if not isinstance(schema, Mapping):
        return None
    legacy = str(schema.get("$schema", "")).rstrip("#") == _DRAFT_07
    level: Any = schema
    for depth, segment in enumerate(path):
        if not isinstance(level, Mapping):
            return None  # true, or no schema: anything goes below
        names = _declared(schema, level, legacy)
        if names is _OPEN:
            return None
        properties, patterns = names
        if segment in properties:
            subschema = level.get("properties", {}).get(segment)
            if subschema is False:
                return ".".join(path[: depth + 1])
            level = subschema  # None when declared only in place: followed no further
            continue
        if any(compile_pattern(p).search(segment) for p in patterns):
            return None
        return ".".join(path[: depth + 1])
    return None


def _declared(root: Mapping[str, Any], level: Mapping[str, Any], legacy: bool) -> Any:
    """``(member names, patterns)`` a closed ``level`` accepts, or _OPEN."""
    closed_here = level.get("additionalProperties") is False
    if legacy and "$ref" in level:
        return _OPEN  # draft-07: $ref beside other keywords makes them ignored
    if closed_here:  # additionalProperties looks at its siblings only
        return set(level.get("properties", {})), list(level.get("patternProperties", {}))
    if level.get("unevaluatedProperties") is not False:
        return _OPEN
    properties: set[str] = set()
    patterns: list[str] = []
    for sub in _in_place(root, level, 0):
        if sub is None:
            return _OPEN
        if sub is not level and (
            sub.get("additionalProperties", False) is not False
            or sub.get("unevaluatedProperties", False) is not False
            or "$dynamicRef" in sub
            or "$recursiveRef" in sub
        ):
            return _OPEN
        properties.update(sub.get("properties", {}))
        patterns.extend(sub.get("patternProperties", {}))
        for members in (sub.get("dependentSchemas") or {}).values():
            if isinstance(members, Mapping):
                properties.update(members.get("properties", {}))
    return properties, patterns


def _in_place(root: Mapping[str, Any], level: Any, hops: int) -> Iterator[Any]:
    """``level`` and every subschema applied in place under it; None for one not knowable."""
    if level is True or level is False:
        return
    if not isinstance(level, Mapping) or hops > _MAX_HOPS:
        yield None
        return
    yield level
    for keyword in _IN_PLACE:
        value = level.get(keyword)
        for sub in value if isinstance(value, list) else [value] if value is not None else []:
            yield from _in_place(root, sub, hops + 1)
    ref = level.get("$ref")
    if isinstance(ref, str):
        yield from _in_place(root, _local(root, ref), hops + 1)


def _local(root: Mapping[str, Any], ref: str) -> Any:
    """The subschema a local ``#/...`` reference names; None for any other reference."""
    if not ref.startswith("#"):
        return None
    try:
        return jsonpointer.resolve_pointer(root, ref[1:]) if ref != "#" else root
    except (jsonpointer.JsonPointerException, TypeError):
        return None
