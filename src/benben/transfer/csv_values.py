"""Records as CSV rows and back: columns, cells, and cells converted by the schema's types.

Columns are ``id``, ``last_modified``, then the data's fields as dotted paths (``author.name``
for nested objects).  A cell holds a string as it is, a number as JSON writes it, ``true`` /
``false``, ``null``, and an array or an object that has no columns of its own as JSON text; an
empty cell is a member the record does not have.

Read back, a cell becomes the type the collection's schema declares for its column (``type``:
integer, number, boolean, null, array, object, string, or a list of them); a column the schema
does not type stays text.  So CSV round-trips what the schema declares; JSON Lines round-trips
everything.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "META_COLUMNS",
    "CellError",
    "cell",
    "column_types",
    "declared_columns",
    "is_closed",
    "leaf_paths",
    "row_record",
    "value_at",
]

META_COLUMNS = ("id", "last_modified")
# Record members a CSV may carry but the import does not send (the server sets them).
IGNORED_COLUMNS = frozenset({"last_modified", "created_by"})
MAX_DEPTH = 8  # the query language's deepest field path
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
# How a type is named in a refusal, as the schema messages name them.
_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true or false)",
    "null": "null",
    "array": "a JSON array",
    "object": "a JSON object",
    "string": "a string",
}


class CellError(ValueError):
    """A cell that cannot be read as its column's declared type."""


def _properties(schema: Any) -> Mapping[str, Any] | None:
    if isinstance(schema, Mapping) and isinstance(schema.get("properties"), Mapping):
        properties: Mapping[str, Any] = schema["properties"]
        return properties
    return None


def declared_columns(schema: Any, prefix: str = "", depth: int = 1) -> list[str]:
    """The leaf fields the schema declares, in its order: an object with ``properties`` is
    walked into (dotted paths), anything else is one column."""
    properties = _properties(schema)
    columns: list[str] = []
    for name, subschema in (properties or {}).items():
        path = f"{prefix}{name}"
        if _properties(subschema) and depth < MAX_DEPTH:
            columns += declared_columns(subschema, f"{path}.", depth + 1)
        else:
            columns.append(path)
    return columns


def is_closed(schema: Any) -> bool:
    """Whether the schema's root forbids undeclared members (no other column can exist)."""
    if not isinstance(schema, Mapping):
        return False
    return (
        schema.get("additionalProperties") is False or schema.get("unevaluatedProperties") is False
    )


def leaf_paths(data: Mapping[str, Any], prefix: str = "", depth: int = 1) -> Iterable[str]:
    """The dotted paths of ``data``'s leaves: non-empty objects are walked into."""
    for name, value in data.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict) and value and depth < MAX_DEPTH:
            yield from leaf_paths(value, f"{path}.", depth + 1)
        else:
            yield path


def value_at(data: Any, path: str) -> tuple[bool, Any]:
    """``(found, value)`` of a dotted path in ``data``."""
    value = data
    for segment in path.split("."):
        if not isinstance(value, dict) or segment not in value:
            return False, None
        value = value[segment]
    return True, value


def cell(value: Any) -> str:
    """A value as CSV text (see the module's docstring)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def column_types(schema: Any, column: str) -> tuple[str, ...]:
    """The JSON types the schema declares for a dotted column; () when it declares none."""
    subschema = schema
    for segment in column.split("."):
        properties = _properties(subschema)
        if properties is None or segment not in properties:
            return ()
        subschema = properties[segment]
    if not isinstance(subschema, Mapping):
        return ()
    declared = subschema.get("type")
    if isinstance(declared, str):
        return (declared,)
    if isinstance(declared, list):
        return tuple(t for t in declared if isinstance(t, str))
    return ()


def convert(text: str, types: Sequence[str], column: str) -> Any:
    """The cell's value as the first declared type that reads it; text when none is declared."""
    if not types:
        return text
    if "null" in types and text == "null":
        return None
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if ("integer" in types or "number" in types) and _INTEGER.fullmatch(text):
        return int(text)
    if "number" in types and _NUMBER.fullmatch(text):
        number = float(text)
        if math.isfinite(number):
            return number
    for kind, start, python_type in (("array", "[", list), ("object", "{", dict)):
        if kind in types and text.lstrip().startswith(start):
            try:
                value = json.loads(text)
            except ValueError:
                break
            if isinstance(value, python_type):
                return value
    if "string" in types:
        return text
    wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in types)
    raise CellError(f"column {column}: {json.dumps(text, ensure_ascii=False)} is not {wanted}")


def check_header(header: Sequence[str]) -> list[str]:
    """The header's problems (empty, repeated or malformed column names), or none."""
    problems = []
    seen: set[str] = set()
    for position, name in enumerate(header, 1):
        if not name:
            problems.append(f"column {position} has no name")
        elif name in seen:
            problems.append(f"column {name!r} appears twice")
        elif any(not segment for segment in name.split(".")):
            problems.append(f"column {name!r} has an empty segment")
        seen.add(name)
    return problems


def row_record(
    header: Sequence[str], row: Sequence[str], schema: Any
) -> tuple[str | None, dict[str, Any], list[tuple[str, str]]]:
    """``(record id or None, data, [(pointer, message)...])`` of one CSV row."""
    from benben.errors import json_pointer

    errors: list[tuple[str, str]] = []
    if len(row) > len(header):
        errors.append(("", f"has {len(row)} cells; the header has {len(header)}"))
        return None, {}, errors
    record_id: str | None = None
    data: dict[str, Any] = {}
    for name, text in zip(header, row, strict=False):
        if text == "" or name in IGNORED_COLUMNS:
            continue  # an empty cell: a member the record does not have
        if name == "id":
            record_id = text
            continue
        segments = name.split(".")
        try:
            value = convert(text, column_types(schema, name), name)
        except CellError as exc:
            errors.append((json_pointer("data", *segments), str(exc)))
            continue
        target = data
        for segment in segments[:-1]:
            target = target.setdefault(segment, {})
            if not isinstance(target, dict):
                break
        if not isinstance(target, dict) or segments[-1] in target:
            errors.append((json_pointer("data", *segments), f"column {name}: another column "
                           "already set this member"))  # fmt: skip
            continue
        target[segments[-1]] = value
    return record_id, data, errors
