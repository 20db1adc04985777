"""Input rules of the data API: ids, principals, JSON hygiene, collection schemas, field paths.

Request bodies are first checked against the JSON Schemas of :mod:`.bodies` (enforced by
``Service(body_schema=...)``, and documented by them); what a schema cannot say is checked here,
every problem with a JSON pointer into the body.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator

from benben.errors import VALIDATION_TYPE, ProblemError, json_pointer
from benben.rest import loads_strict, schema_errors

__all__ = [
    "COLLECTION_ID",
    "COLLECTION_ID_RULE",
    "DRAFT_2020_12",
    "FIELD_PATH",
    "MAX_DEPTH",
    "PRINCIPAL",
    "RECORD_ID",
    "RECORD_ID_RULE",
    "body_error",
    "check_collection_schema",
    "hygiene_errors",
    "invalid",
    "loads_strict",
    "param_error",
]

COLLECTION_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"
RECORD_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
# A dotted path into record data (`price`, `address.city`), as the list-query language reads
# them (benben.data.query.parse_field_path, which also bounds each segment to 64 characters).
FIELD_PATH = r"^[A-Za-z0-9-]+(_[A-Za-z0-9-]+)*(\.(_?[A-Za-z0-9-]+(_[A-Za-z0-9-]+)*)){0,7}$"
PRINCIPAL = (
    r"^(system\.Everyone|system\.Authenticated|role:admin"
    r"|user:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}|group:[a-z0-9][a-z0-9_.-]{1,63})$"
)
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
# Deeper documents are refused: nothing legitimate needs them, and recursion has limits.
MAX_DEPTH = 64

COLLECTION_ID_RULE = (
    "a collection id is 1-64 characters: a-z, 0-9, '_' or '-', starting with a letter or digit"
)
RECORD_ID_RULE = (
    "a record id is 1-64 characters: letters, digits, '_' or '-', starting with a letter or digit"
)
COLLECTION_ID_RE = re.compile(COLLECTION_ID)
RECORD_ID_RE = re.compile(RECORD_ID)
# Keywords whose values are data, not subschemas: a "$ref" member there is no reference.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples"})
_META_VALIDATOR = Draft202012Validator(
    Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
)


def body_error(pointer: str, message: str) -> dict[str, str]:
    """An ``errors`` entry about the body member at ``pointer``."""
    return {"location": "body", "pointer": pointer, "message": message}


def param_error(name: str, message: str, location: str = "querystring") -> dict[str, str]:
    """An ``errors`` entry about a query parameter, path segment or header ``name``."""
    return {"location": location, "name": name, "message": message}


def invalid(
    errors: list[dict[str, str]], *, status: int = 400, detail: str | None = None
) -> ProblemError:
    """The problem for ``errors`` (``[{"location", "pointer"|"name", "message"}]``)."""
    if detail is None:
        detail = "; ".join(
            f"{e.get('pointer', e.get('name')) or e['location']}: {e['message']}"
            for e in errors[:20]
        )
    title = "Invalid request" if status == 400 else None
    return ProblemError(status, title=title, type=VALIDATION_TYPE, detail=detail, errors=errors)


def hygiene_errors(value: Any, prefix: tuple[Any, ...] = ()) -> list[dict[str, str]]:
    """What no database stores alike: NUL characters and lone surrogates in strings and member
    names, and nesting deeper than MAX_DEPTH.  Checked without recursion."""
    errors: list[dict[str, str]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, prefix)]
    while stack and len(errors) < 100:
        item, path = stack.pop()
        if len(path) - len(prefix) > MAX_DEPTH:
            errors.append(_error(path, f"nested deeper than {MAX_DEPTH} levels"))
            continue
        if isinstance(item, str):
            if _bad_text(item):
                errors.append(_error(path, "contains a NUL character or a lone surrogate"))
        elif isinstance(item, dict):
            for key, member in item.items():
                if _bad_text(key):
                    errors.append(
                        _error(
                            (*path, key), "member name contains a NUL character or a lone surrogate"
                        )
                    )
                else:
                    stack.append((member, (*path, key)))
        elif isinstance(item, list):
            stack.extend((member, (*path, index)) for index, member in enumerate(item))
    return sorted(errors, key=lambda e: e["pointer"])


def _bad_text(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _error(path: tuple[Any, ...], message: str) -> dict[str, str]:
    return body_error(json_pointer(*path), message)


def check_collection_schema(schema: Any, prefix: tuple[Any, ...] = ("schema",)) -> None:
    """A collection's JSON Schema must be a valid draft 2020-12 schema whose references all
    resolve inside it (nothing is fetched from the network); 400 with pointers otherwise."""
    if schema is None:
        return
    errors = schema_errors(_META_VALIDATOR, schema, prefix=prefix)
    if not errors:
        errors = _reference_errors(schema, prefix)
    if not errors:
        errors = _recursion_errors(schema, prefix)
    if errors:
        raise invalid(errors)


def _reference_errors(schema: Any, prefix: tuple[Any, ...]) -> list[dict[str, str]]:
    errors = []
    declared = schema.get("$schema") if isinstance(schema, dict) else None
    if declared is not None and declared.rstrip("#") != DRAFT_2020_12:
        errors.append(_error((*prefix, "$schema"), f"only {DRAFT_2020_12} is supported"))
    anchors = {
        value for keyword, value, _ in _keywords(schema) if keyword in ("$anchor", "$dynamicAnchor")
    }
    for keyword, value, path in _keywords(schema):
        if keyword == "$id" and len(path) > 1:
            errors.append(_error((*prefix, *path), "$id is only supported on the root schema"))
        elif keyword in ("$ref", "$dynamicRef") and isinstance(value, str):
            if not value.startswith("#"):
                errors.append(
                    _error(
                        (*prefix, *path),
                        "only references inside this schema ('#...') are supported",
                    )
                )
            elif not _resolves(schema, value[1:], anchors):
                errors.append(
                    _error((*prefix, *path), f"{value!r} does not resolve in this schema")
                )
    return errors


def _keywords(schema: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[str, Any, tuple]]:
    """``(keyword, value, path of the keyword)`` of every schema object, skipping data."""
    stack = [(schema, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                yield key, value, (*where, key)
                if key not in _DATA_KEYWORDS:
                    stack.append((value, (*where, key)))
        elif isinstance(node, list):
            stack.extend((item, (*where, index)) for index, item in enumerate(node))


def _resolves(schema: Any, fragment: str, anchors: set[Any]) -> bool:
    if not fragment:
        return True
    if not fragment.startswith("/"):
        return fragment in anchors
    from urllib.parse import unquote

    node = schema
    for raw in fragment[1:].split("/"):
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return isinstance(node, dict | bool)


def _recursion_errors(schema: Any, prefix: tuple[Any, ...]) -> list[dict[str, str]]:
    """A schema that refers to itself without consuming input (``{"$ref": "#"}``) would loop
    on every record: try it once now."""
    try:
        for sample in ({}, {"a": [1, "b", None]}):
            Draft202012Validator(schema).is_valid(sample)
    except RecursionError:
        return [_error(prefix, "refers to itself without end")]
    except Exception as exc:  # any other failure to apply it: the schema is unusable
        return [_error(prefix, f"cannot be applied: {type(exc).__name__}")]
    return []


def record_id_valid(record_id: str) -> bool:
    return RECORD_ID_RE.match(record_id) is not None and len(record_id) <= 64


def collection_id_valid(collection_id: str) -> bool:
    return COLLECTION_ID_RE.match(collection_id) is not None and len(collection_id) <= 64


def normalized_permissions(permissions: Mapping[str, list[str]] | None) -> dict[str, list[str]]:
    """Deduplicated, sorted, empty lists left out: one spelling per ACL."""
    return {
        name: sorted(set(principals))
        for name, principals in sorted((permissions or {}).items())
        if principals
    }
