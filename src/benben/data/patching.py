"""PATCH bodies: RFC 7396 merge patches and RFC 6902 JSON Patches, applied to a resource's body.

Both apply to the same document, the body a PUT would send: for a record ``{"data": {...},
"permissions": {...}}`` (so a JSON Patch path reads ``/data/price``), for a collection its
``title``, ``description``, ``schema``, ``indexed_fields`` and ``permissions``.  Plain
``application/json`` is a merge patch.  The result is validated as a PUT body would be.

Refusals: a malformed patch (a path outside the patchable members, a bad pointer) is a 400
pointing at the operation; an operation the current document does not allow (a failed ``test``,
a missing member to remove or replace) is a 409 pointing at it, with nothing stored.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

import jsonpatch
import jsonpointer
from pyramid.request import Request

from benben.data.http import JSON_PATCH
from benben.data.validation import MAX_DEPTH, body_error, hygiene_errors, invalid
from benben.errors import ProblemError, json_pointer

__all__ = ["PATCH_CONFLICT_TYPE", "apply_patch", "merge_patch"]

PATCH_CONFLICT_TYPE = "urn:benben:problem:patch-conflict"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge member by member, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


def apply_patch(
    request: Request, target: dict[str, Any], members: Sequence[str], max_size: int
) -> dict[str, Any]:
    """The request's patch (already schema-checked) applied to a copy of ``target``."""
    patch = request.validated
    if (request.content_type or "").lower() == JSON_PATCH:
        if not isinstance(patch, list):
            raise invalid([body_error("", "a JSON Patch is an array of operations")])
        return _json_patch(target, patch, members, max_size)
    if not isinstance(patch, dict):
        raise invalid(
            [body_error("", f"a merge patch is an object; send a JSON Patch array as {JSON_PATCH}")]
        )
    # Checked before merging, as JSON Patch values are: the members sit one level above data.
    errors = hygiene_errors(patch, max_depth=MAX_DEPTH + 1)
    if errors:
        raise invalid(errors)
    return merge_patch(target, patch)


def _json_patch(
    target: dict[str, Any], operations: list[dict[str, Any]], members: Sequence[str], limit: int
) -> dict[str, Any]:
    pointers = [_check_paths(index, op, members) for index, op in enumerate(operations)]
    _check_values(operations, pointers)
    document = copy.deepcopy(target)
    # Only "copy" can grow a document beyond the patch's own size: bound what it may add.
    budget = limit
    for index, (op, pointer) in enumerate(zip(operations, pointers, strict=True)):
        try:
            if op["op"] == "test":
                _test(document, pointer, op["value"], index)
                continue
            if op["op"] == "copy":
                budget -= _size(jsonpointer.resolve_pointer(document, op["from"]))
                if budget < 0:
                    raise invalid(
                        [body_error(f"/{index}", "copies more data than a record may hold")],
                        status=413,
                    )
            document = jsonpatch.JsonPatch([op]).apply(document, in_place=True)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise _conflict(index, str(exc)) from None
    return document


def _check_paths(index: int, op: dict[str, Any], members: Sequence[str]) -> jsonpointer.JsonPointer:
    errors = []
    parsed = None
    for key in ("path", "from"):
        if key not in op:
            continue
        try:
            pointer = jsonpointer.JsonPointer(op[key])
        except jsonpointer.JsonPointerException as exc:
            errors.append(
                {
                    "location": "body",
                    "pointer": f"/{index}/{key}",
                    "message": f"not a JSON pointer: {exc}",
                }
            )
            continue
        if not pointer.parts or pointer.parts[0] not in members:
            allowed = ", ".join(f"/{m}" for m in members)
            errors.append(
                {
                    "location": "body",
                    "pointer": f"/{index}/{key}",
                    "message": f"may only point into {allowed}",
                }
            )
        if key == "path":
            parsed = pointer
    if errors:
        raise invalid(errors)
    assert parsed is not None
    return parsed


def _check_values(
    operations: list[dict[str, Any]], pointers: list[jsonpointer.JsonPointer]
) -> None:
    """Each value checked where it will land, before anything is applied: a value as deep as
    the limit placed under a path is deeper than the limit, and applying or copying it would
    already be the work the limit is there to spare."""
    errors = []
    for index, (op, pointer) in enumerate(zip(operations, pointers, strict=True)):
        if "value" in op:
            # The first segment is the member (/data, /schema...): the limit applies inside it.
            room = max(MAX_DEPTH - max(len(pointer.parts) - 1, 0), 0)
            errors.extend(hygiene_errors(op["value"], (index, "value"), max_depth=room))
    if errors:
        raise invalid(errors)


def _test(document: Any, pointer: jsonpointer.JsonPointer, expected: Any, index: int) -> None:
    try:
        actual = pointer.resolve(document)
    except jsonpointer.JsonPointerException:
        raise _conflict(index, f"test failed: {pointer.path} does not exist") from None
    if not _same(actual, expected):
        raise _conflict(index, f"test failed: {pointer.path} holds another value")


def _same(left: Any, right: Any) -> bool:
    """JSON equality: 1 equals 1.0, but true is not 1."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_same, left, right))
    return type(left) is type(right) and left == right


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _conflict(index: int, message: str) -> ProblemError:
    return ProblemError(
        409,
        type=PATCH_CONFLICT_TYPE,
        detail=f"Operation {index} cannot be applied: {message}.",
        errors=[body_error(json_pointer(index), message)],
    )
