"""PATCH bodies: RFC 7396 merge patches and RFC 6902 JSON Patches, applied to a resource's body.

Both apply to the same document, the body a PUT would send: for a record ``{"data": {...},
"permissions": {...}}`` (so a JSON Patch path reads ``/data/price``), for a collection its
``title``, ``description``, ``schema``, ``indexed_fields`` and ``permissions``.  The result is
validated as a PUT body would be.

The Content-Type decides which one a body is, never its shape: ``application/merge-patch+json``
(and plain ``application/json``) is a merge patch, an object; ``application/json-patch+json`` is
a JSON Patch, an array of operations; any other type is a 415.  A body of the other shape is a
400 naming its media type, before any schema looks at it.

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

from benben.data.http import JSON, JSON_PATCH, MERGE_PATCH, content_type
from benben.data.validation import MAX_DEPTH, body_error, hygiene_errors, invalid
from benben.errors import ProblemError, json_pointer
from benben.rest import json_body
from benben.schema_messages import json_type

__all__ = [
    "PATCH_CONFLICT_TYPE",
    "PATCH_MEDIA_TYPES",
    "apply_patch",
    "merge_patch",
    "patch_content_type",
]

PATCH_CONFLICT_TYPE = "urn:benben:problem:patch-conflict"
PATCH_MEDIA_TYPES = (MERGE_PATCH, JSON_PATCH, JSON)
_ARTICLES = {"array": "an array", "integer": "an integer", "object": "an object", "null": "null"}
# What each media type makes of a body, and the shape that says.
_KINDS = {
    MERGE_PATCH: (f"a merge patch ({MERGE_PATCH})", "object", "an object"),
    JSON: (f"a merge patch (sent as {JSON})", "object", "an object"),
    JSON_PATCH: (f"a JSON Patch ({JSON_PATCH})", "array", "an array of operations"),
}
_MEDIA_CHECK = content_type(*PATCH_MEDIA_TYPES)


def patch_content_type(request: Request, **kwargs: Any) -> None:
    """A Cornice validator for PATCH: 415 for a media type other than PATCH_MEDIA_TYPES, 400
    for a body that is not JSON or not of the shape its media type says."""
    _MEDIA_CHECK(request, **kwargs)
    media = (request.content_type or "").lower()
    body = json_body(request)
    if not request.body:
        kind, _, described = _KINDS[media]
        raise invalid([body_error("", f"the body is empty; {kind} body is {described}")])
    _check_shape(media, body)


def _check_shape(media: str, body: Any) -> None:
    """A 400 naming the media type when ``body`` is not of the shape it says."""
    kind, shape, described = _KINDS.get(media, _KINDS[JSON])
    given = json_type(body)
    if given == shape:
        return
    hint = ""
    if shape == "object" and given == "array":
        hint = f" (send a JSON Patch as {JSON_PATCH})"
    elif shape == "array" and given == "object":
        hint = f" (send a merge patch as {MERGE_PATCH})"
    this = _ARTICLES.get(given, f"a {given}")
    raise invalid([body_error("", f"{kind} body is {described}; this one is {this}{hint}")])


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
    """The request's patch (already checked by patch_content_type and its media type's
    schema) applied to a copy of ``target``."""
    patch = request.validated
    media = (request.content_type or "").lower()
    _check_shape(media, patch)  # a view without patch_content_type must not guess either
    if media == JSON_PATCH:
        return _json_patch(target, patch, members, max_size)
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
