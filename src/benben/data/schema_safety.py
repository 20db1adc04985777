"""What a collection's schema may not do: reach outside itself, or hold a pattern RE2 refuses.

The schema is walked by its dialect's keyword structure (which values are schemas, arrays of
schemas or maps of name -> schema: :class:`benben.jsonschemas.Dialect`); every other value is
data (``enum``, ``const``, ``default``, ``examples``, unknown keywords), never a live keyword,
whatever its name or content.  In each subschema:

- ``$schema`` is accepted at the root only (the dialect is chosen there, once);
- every reference (``$ref``, ``$dynamicRef``, ``$recursiveRef``) must resolve, with the
  ``referencing`` library's own rules (base URIs from ``$id``, anchors), inside this document,
  and to one of its subschemas: a registry that refuses every retrieval is asked, so an
  ``http(s)``, ``file`` or any other outside URI is refused without being contacted;
- ``pattern`` and every ``patternProperties`` name must compile with RE2.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from referencing.exceptions import Unresolvable

from benben.errors import json_pointer
from benben.jsonschemas import DIALECTS, NO_FETCH, Dialect, dialect_of, make_validator, regex_error
from benben.rest import schema_errors
from benben.schema_messages import json_text

__all__ = ["collection_schema_errors", "reference_and_pattern_errors", "subschemas"]

Path = tuple[Any, ...]


def collection_schema_errors(schema: Any, prefix: Path = ("schema",)) -> list[dict[str, str]]:
    """Why ``schema`` cannot be a collection's schema (``errors`` entries with pointers under
    ``prefix``), in order: an unknown ``$schema``, the dialect's meta-schema, references and
    patterns, then a trial run (a schema that refers to itself without end)."""
    dialect = dialect_of(schema)
    if dialect is None:
        accepted = ", ".join(sorted(DIALECTS))
        return [_entry((*prefix, "$schema"), f"not a dialect Benben runs; accepted: {accepted}")]
    errors = schema_errors(dialect.meta_validator, schema, prefix=prefix)
    if not errors:
        errors = [
            _entry((*prefix, *path), message)
            for path, message in reference_and_pattern_errors(dialect, schema)
        ]
    if not errors:
        errors = _trial_errors(schema, prefix)
    return errors


def _entry(path: Path, message: str) -> dict[str, str]:
    return {"location": "body", "pointer": json_pointer(*path), "message": message}


def _trial_errors(schema: Any, prefix: Path) -> list[dict[str, str]]:
    """A schema that refers to itself without consuming input (``{"$ref": "#"}``) would loop
    on every record: try it once now."""
    try:
        validator = make_validator(schema)
        for sample in ({}, {"a": [1, "b", None]}):
            validator.is_valid(sample)
    except RecursionError:
        return [_entry(prefix, "refers to itself without end")]
    except Exception as exc:  # any other failure to apply it: the schema is unusable
        return [_entry(prefix, f"cannot be applied: {type(exc).__name__}")]
    return []


def subschemas(dialect: Dialect, schema: Any) -> Iterator[tuple[Path, Any]]:
    """``(path, subschema)`` for the root and every subschema below it, by the dialect's
    keywords (tolerant of wrong shapes: the meta-schema reports those)."""
    stack: list[tuple[Path, Any]] = [((), schema)]
    while stack:
        path, node = stack.pop()
        yield path, node
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            where = (*path, key)
            if key in dialect.in_value or (key == "items" and dialect.items_array):
                if isinstance(value, list) and key == "items":
                    stack.extend(((*where, i), item) for i, item in enumerate(value))
                elif isinstance(value, dict | bool):
                    stack.append((where, value))
            elif key in dialect.in_subarray and isinstance(value, list):
                stack.extend(((*where, i), item) for i, item in enumerate(value))
            elif key in dialect.in_subvalues and isinstance(value, dict):
                stack.extend(((*where, name), item) for name, item in value.items())
            elif key == "dependencies" and dialect.dependencies and isinstance(value, dict):
                # Each member is a schema, or an array of member names (data).
                stack.extend(
                    ((*where, name), item)
                    for name, item in value.items()
                    if isinstance(item, dict | bool)
                )


def reference_and_pattern_errors(dialect: Dialect, schema: Any) -> list[tuple[Path, str]]:
    """``(path, message)`` for each reference leaving the document, each ``$schema`` below the
    root and each pattern RE2 refuses."""
    found = list(subschemas(dialect, schema))
    # Identity: a reference must land on one of these objects, not on data that looks alike.
    schema_ids = {id(node) for _, node in found if isinstance(node, dict)}
    errors: list[tuple[Path, str]] = []
    resolvers = _resolvers(dialect, schema, found)
    for path, node in found:
        if not isinstance(node, dict):
            continue
        if path and "$schema" in node:
            errors.append(((*path, "$schema"), "$schema is only accepted on the root schema"))
        source = node.get("pattern")
        if isinstance(source, str) and (reason := regex_error(source)) is not None:
            errors.append(((*path, "pattern"), f"not a pattern RE2 accepts: {reason}"))
        patterns = node.get("patternProperties")
        for name in patterns if isinstance(patterns, dict) else ():
            if (reason := regex_error(name)) is not None:
                errors.append(
                    ((*path, "patternProperties", name), f"not a pattern RE2 accepts: {reason}")
                )
        for keyword in dialect.references:
            ref = node.get(keyword)
            if isinstance(ref, str):
                message = _reference_error(resolvers[path], ref, schema_ids)
                if message is not None:
                    errors.append(((*path, keyword), message))
    return errors


def _resolvers(dialect: Dialect, schema: Any, found: list[tuple[Path, Any]]) -> dict[Path, Any]:
    """The resolver in effect at each subschema (its base URI set by the ``$id``s above it), as
    jsonschema builds them while descending, over a registry holding only this document."""
    spec = dialect.specification
    root = NO_FETCH.resolver_with_root(spec.create_resource(schema))
    resolvers: dict[Path, Any] = {(): root}
    for path, node in sorted(found, key=lambda item: len(item[0])):
        if path:
            parent = _parent(path, resolvers)
            resolvers[path] = parent.in_subresource(spec.create_resource(node))
    return resolvers


def _parent(path: Path, resolvers: dict[Path, Any]) -> Any:
    for cut in range(len(path) - 1, -1, -1):
        if path[:cut] in resolvers:
            return resolvers[path[:cut]]
    return resolvers[()]


def _reference_error(resolver: Any, ref: str, schema_ids: set[int]) -> str | None:
    try:
        resolved = resolver.lookup(ref)
    except Unresolvable:
        return (
            f"{json_text(ref)} does not resolve inside this schema: only references within the "
            'document are accepted ("#...", or relative to an $id in it), nothing is fetched'
        )
    except Exception:  # a malformed URI or pointer: unusable either way
        return f"{json_text(ref)} is not a reference this schema can resolve"
    contents = resolved.contents
    if isinstance(contents, bool) or id(contents) in schema_ids:
        return None
    return f"{json_text(ref)} points at data, not at a subschema"
