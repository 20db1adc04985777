"""Placing JSON Schemas into an OpenAPI document: named components, relocated references.

A schema a service declares is self-contained (it is also what validates requests), so two things
happen when it goes into the document:

- Its local references (``#/$defs/price``) are relative to the schema itself; inside the document
  ``#`` is the document, so they are rewritten to the schema's new place
  (``#/components/schemas/Product/$defs/price``).  A schema with its own ``$id`` is a resource of
  its own and keeps them; references to ``#/components/...`` name the document's shared
  components (``Problem``) and stay as they are.
- A schema (or sub-schema) whose ``title`` is a valid component name (``User``, ``ApiToken``)
  becomes ``components/schemas/<title>`` and is referenced from where it was: shared shapes
  appear once, named.  Two different schemas with one title get ``User``, ``User_2``...
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["COMPONENT_NAME", "SchemaComponents", "component_name", "relocate_refs"]

COMPONENT_NAME = re.compile(r"[A-Za-z0-9._-]+")
_NOT_NAME = re.compile(r"[^A-Za-z0-9._-]+")

# Keywords whose value is a schema, a list of schemas or a map of names to schemas (draft
# 2020-12 and the older ones still common).  Values of the others (const, enum, default,
# examples...) are data and are never rewritten.
_SCHEMA = ("additionalProperties", "contains", "else", "if", "items", "not", "propertyNames",
           "then", "unevaluatedItems", "unevaluatedProperties", "additionalItems")  # fmt: skip
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAPS = ("$defs", "definitions", "dependentSchemas", "patternProperties", "properties")
_REF_KEYWORDS = ("$ref", "$dynamicRef")


def component_name(text: str) -> str:
    """``text`` made a valid component name (``orders/2024`` -> ``orders_2024``)."""
    return _NOT_NAME.sub("_", text).strip("_") or "_"


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _subschemas(schema: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """(path from ``schema``, sub-schema) of every direct sub-schema."""
    for key in _SCHEMA:
        if isinstance(schema.get(key), dict):
            yield (key,), schema[key]
    for key in _SCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            for index, item in enumerate(schema[key]):
                if isinstance(item, dict):
                    yield (key, str(index)), item
    for key in _SCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            for name, item in schema[key].items():
                if isinstance(item, dict):
                    yield (key, name), item


def relocate_refs(schema: Mapping[str, Any], pointer: str) -> dict[str, Any]:
    """A copy of ``schema`` whose local references work once it sits at ``pointer`` (a JSON
    pointer into the document, such as ``/components/schemas/Product``)."""
    result = copy.deepcopy(dict(schema))
    if "$id" not in result:
        _relocate(result, pointer)
    return result


def _relocate(schema: dict[str, Any], pointer: str) -> None:
    for keyword in _REF_KEYWORDS:
        ref = schema.get(keyword)
        # "#/components/...": a response schema naming a shared component (Problem...).
        if isinstance(ref, str) and ref.startswith("#") and not ref.startswith("#/components/"):
            schema[keyword] = "#" + pointer + ref[1:]
    for _, sub in _subschemas(schema):
        if "$id" not in sub:  # a nested resource resolves its own references
            _relocate(sub, pointer)


class SchemaComponents:
    """``components/schemas`` being built: named schemas, deduplicated by content."""

    def __init__(self, existing: Mapping[str, Any] | None = None) -> None:
        self.schemas: dict[str, Any] = dict(existing or {})

    def place(self, schema: Mapping[str, Any], pointer: str) -> dict[str, Any]:
        """``schema`` as it appears at ``pointer``: a reference when it is titled (named
        component), else inline; titled sub-schemas become components either way."""
        title = schema.get("title")
        if isinstance(title, str) and COMPONENT_NAME.fullmatch(title):
            return self._named(title, schema)
        placed = relocate_refs(schema, pointer)
        self._hoist_children(placed)
        return placed

    def _named(self, title: str, schema: Mapping[str, Any]) -> dict[str, str]:
        # Placed where its name would put it; a name taken by another schema renames it,
        # and its references are placed again for the new name.
        for name in self._names(title):
            placed = relocate_refs(schema, f"/components/schemas/{_escape(name)}")
            self._hoist_children(placed)
            if self.schemas.get(name, placed) == placed:
                self.schemas[name] = placed
                return {"$ref": f"#/components/schemas/{_escape(name)}"}
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _names(title: str) -> Iterator[str]:
        yield title
        number = 2
        while True:
            yield f"{title}_{number}"
            number += 1

    def _hoist_children(self, schema: dict[str, Any]) -> None:
        for path, sub in list(_subschemas(schema)):
            title = sub.get("title")
            parent: Any = schema
            for part in path[:-1]:
                parent = parent[part]
            key: Any = int(path[-1]) if isinstance(parent, list) else path[-1]
            if isinstance(title, str) and COMPONENT_NAME.fullmatch(title) and "$id" not in sub:
                parent[key] = self._named_in_place(title, sub)
            else:
                self._hoist_children(sub)

    def _named_in_place(self, title: str, sub: dict[str, Any]) -> dict[str, str]:
        # Its references were already relocated with its parent: they point into the parent,
        # which stays where it is, so the sub-schema moves as it is.
        self._hoist_children(sub)
        for name in self._names(title):
            if self.schemas.get(name, sub) == sub:
                self.schemas[name] = sub
                return {"$ref": f"#/components/schemas/{_escape(name)}"}
        raise AssertionError("unreachable")  # pragma: no cover
