"""Input rules of the data API: ids, principals, JSON hygiene, collection schemas, field paths.

Request bodies are first checked against the JSON Schemas of :mod:`.bodies` (enforced by
``Service(body_schema=...)``, and documented by them); what a schema cannot say is checked here,
every problem with a JSON pointer into the body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from benben.data.schema_safety import collection_schema_errors
from benben.errors import (
    TOO_LARGE_TITLE,
    TOO_LARGE_TYPE,
    VALIDATION_TYPE,
    ProblemError,
    invalid_input,
    json_pointer,
)
from benben.rest import bad_text, loads_strict

__all__ = [
    "COLLECTION_ID",
    "COLLECTION_ID_RULE",
    "DRAFT_2020_12",
    "FIELD_PATH",
    "INTEGER_RULE",
    "MAX_DEPTH",
    "MAX_INTEGER",
    "PRINCIPAL",
    "PRINCIPAL_RE",
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
# The Python side matches whole strings (fullmatch): in Python, as in ECMA-262, "$" also
# matches before a final newline, so the patterns above lose their anchors here.
COLLECTION_ID_RE = re.compile(COLLECTION_ID.removeprefix("^").removesuffix("$"))
RECORD_ID_RE = re.compile(RECORD_ID.removeprefix("^").removesuffix("$"))
PRINCIPAL_RE = re.compile(PRINCIPAL.removeprefix("^").removesuffix("$"))
# Integers are stored exactly by both databases within int64 (PostgreSQL's numeric would take
# more, SQLite's JSON functions would turn them into doubles, or infinities): beyond it they
# would compare, sort and page differently.  Other numbers are doubles.
MAX_INTEGER = 2**63 - 1
INTEGER_RULE = "integers are at most 2^63-1 in magnitude (write larger numbers with an exponent)"


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
    if status == 413:  # too large, not malformed: the type every 413 has
        return ProblemError(
            status, title=TOO_LARGE_TITLE, type=TOO_LARGE_TYPE, detail=detail, errors=errors
        )
    if status == 400:
        return invalid_input(errors, detail=detail)
    return ProblemError(status, type=VALIDATION_TYPE, detail=detail, errors=errors)


def hygiene_errors(
    value: Any, prefix: tuple[Any, ...] = (), max_depth: int = MAX_DEPTH
) -> list[dict[str, str]]:
    """What no database stores alike: NUL characters and lone surrogates in strings and member
    names, integers beyond MAX_INTEGER, and nesting deeper than ``max_depth``.  Checked
    without recursion."""
    errors: list[dict[str, str]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, prefix)]
    while stack and len(errors) < 100:
        item, path = stack.pop()
        if len(path) - len(prefix) > max_depth:
            errors.append(_error(path, f"nested deeper than {MAX_DEPTH} levels"))
            continue
        if isinstance(item, str):
            if bad_text(item):
                errors.append(_error(path, "contains a NUL character or a lone surrogate"))
        elif isinstance(item, int) and not isinstance(item, bool):
            if not -MAX_INTEGER <= item <= MAX_INTEGER:
                errors.append(_error(path, INTEGER_RULE))
        elif isinstance(item, dict):
            for key, member in item.items():
                if bad_text(key):
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


def _error(path: tuple[Any, ...], message: str) -> dict[str, str]:
    return body_error(json_pointer(*path), message)


def check_collection_schema(schema: Any, prefix: tuple[Any, ...] = ("schema",)) -> None:
    """A collection's JSON Schema must be valid in a dialect Benben runs, reference nothing
    outside itself and hold only patterns RE2 accepts (:mod:`.schema_safety`); 400 with
    pointers otherwise."""
    if schema is None:
        return
    errors = collection_schema_errors(schema, prefix)
    if errors:
        raise invalid(errors)


def record_id_valid(record_id: str) -> bool:
    return RECORD_ID_RE.fullmatch(record_id) is not None


def collection_id_valid(collection_id: str) -> bool:
    return COLLECTION_ID_RE.fullmatch(collection_id) is not None


def normalized_permissions(permissions: Mapping[str, list[str]] | None) -> dict[str, list[str]]:
    """Deduplicated, sorted, empty lists left out: one spelling per ACL."""
    return {
        name: sorted(set(principals))
        for name, principals in sorted((permissions or {}).items())
        if principals
    }
