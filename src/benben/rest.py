"""REST services: Cornice's ``Service`` with problem+json errors and self-describing operations.

Every view may declare, next to Cornice's own arguments, what the OpenAPI document says of it::

    records = Service(name="records", path="/api/v1/collections/{cid}/records",
                      factory=RecordsResource, tags=["data"])

    @records.post(permission=CREATE, body_schema=RECORD_BODY, summary="Create a record",
                  responses={201: Response("The record", RECORD), 412: "If-Match failed"},
                  parameters=[Parameter("If-Match", "header", {"type": "string"})])
    def create_record(request): ...

``body_schema`` (a JSON Schema, draft 2020-12) is *enforced* before the view runs: a body that
does not match answers 400 with a JSON pointer for each violation; the parsed body is then
``request.validated``.  The same schema is what the OpenAPI document shows, so the two cannot
drift.  These arguments are removed before Cornice and Pyramid see the view.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cornice
from jsonschema.protocols import Validator
from pyramid.request import Request
from pyramid.response import Response as PyramidResponse

from benben.errors import (
    ProblemError,
    cornice_error_handler,
    invalid_input,
    json_pointer,
)
from benben.jsonschemas import body_validator
from benben.schema_messages import member_messages, message

__all__ = [
    "MAX_JSON_DEPTH",
    "BadJSONValue",
    "Operation",
    "Parameter",
    "Response",
    "Service",
    "bad_text",
    "json_body",
    "loads_strict",
    "schema_errors",
    "validate_json_body",
]

JSONSchema = Mapping[str, Any]


@dataclass(frozen=True)
class Parameter:
    """A documented query, path or header parameter."""

    name: str
    location: str = "query"  # query | header | path
    schema: JSONSchema = field(default_factory=lambda: {"type": "string"})
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Response:
    """A documented response: description, body schema (JSON), headers, media type.

    No schema: no body, or, with a media type other than JSON, a body documented by its media
    type alone (a multi-document YAML stream, say, which no single schema describes)."""

    description: str
    schema: JSONSchema | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # name -> description
    media_type: str = "application/json"


@dataclass
class Operation:
    """What the OpenAPI document says of one method of one service."""

    method: str
    summary: str | None = None
    description: str | None = None
    operation_id: str | None = None
    tags: Sequence[str] = ()
    body_schema: JSONSchema | None = None
    body_media_types: Sequence[str] = ("application/json",)
    # One schema per media type, when the media type decides what the body is (a PATCH's merge
    # patch or JSON Patch); replaces body_schema and body_media_types.
    body_schemas: Mapping[str, JSONSchema] | None = None
    parameters: Sequence[Parameter] = ()
    responses: Mapping[int, Response | str] = field(default_factory=dict)
    permission: str | None = None


_DOC_ARGUMENTS = (
    "summary",
    "description",
    "operation_id",
    "body_schema",
    "body_media_types",
    "body_schemas",
    "parameters",
    "responses",
)


class Service(cornice.Service):
    """A Cornice service whose validation failures answer ``application/problem+json``."""

    def __init__(self, name: str, path: str | None = None, **kwargs: Any) -> None:
        self.tags: Sequence[str] = tuple(kwargs.pop("tags", ()))
        self.operations: dict[str, Operation] = {}
        super().__init__(name=name, path=path, **kwargs)

    def default_error_handler(self, request: Request) -> PyramidResponse:
        return cornice_error_handler(request)

    def add_view(self, method: str, view: Any, **kwargs: Any) -> None:
        docs = {key: kwargs.pop(key) for key in _DOC_ARGUMENTS if key in kwargs}
        tags = tuple(kwargs.pop("tags", self.tags))
        schema = docs.get("body_schema")
        if schema is not None:
            kwargs["validators"] = (
                *tuple(kwargs.get("validators", ())),
                _body_validator(schema),
            )
        per_media = docs.get("body_schemas")
        if per_media is not None:
            docs["body_media_types"] = tuple(per_media)
            kwargs["validators"] = (
                *tuple(kwargs.get("validators", ())),
                _media_body_validator(per_media),
            )
        self.operations[method.upper()] = Operation(
            method=method.upper(), tags=tags, permission=kwargs.get("permission"), **docs
        )
        super().add_view(method, view, **kwargs)


def schema_errors(
    validator: Validator, instance: Any, *, prefix: Sequence[Any] = ()
) -> list[dict[str, str]]:
    """Every violation as ``{"location": "body", "pointer", "message"}``, in document order,
    told in JSON's terms (:mod:`benben.schema_messages`).

    A missing required member or an unknown one points at that member (``/name``), not at the
    object holding it: the pointer names the field to fix.
    """
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.path])
    found: dict[tuple[str, str], dict[str, str]] = {}
    for error in errors:
        path = (*prefix, *error.absolute_path)
        members = member_messages(error)
        located = [(json_pointer(*path, member), text) for member, text in members]
        # The same member can be reported by several subschemas (a ``required`` repeated under
        # ``allOf``, ``if``/``then``): the client needs each problem once.
        for pointer, text in located or [(json_pointer(*path), message(error))]:
            found.setdefault(
                (pointer, text), {"location": "body", "pointer": pointer, "message": text}
            )
    return list(found.values())


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Deeper bodies are refused whole: code that recurses over a document (copying, patching,
# schema validation, serialising) must never meet one that exhausts the stack.  Record data has
# its own, lower limit (benben.data.validation.MAX_DEPTH); this one leaves room for the envelopes
# around it (a record body, a JSON Patch operation, a batch request).
MAX_JSON_DEPTH = 100
# Only an escape can put a NUL character or a lone surrogate into a parsed string (raw control
# characters are not JSON, and a surrogate cannot be UTF-8): without one, nothing to look for.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


class BadJSONValue(ValueError):  # noqa: N818 - a refusal with its place, not a fault
    """JSON that parsed but is refused, with the JSON pointer of what is refused."""

    def __init__(self, pointer: str, message: str) -> None:
        super().__init__(message)
        self.pointer = pointer
        self.message = message


def loads_strict(raw: bytes | str) -> Any:
    """Standard JSON only (ValueError otherwise): no NaN or Infinity; and, as
    :class:`BadJSONValue` with a pointer, no number beyond a double's range, nothing nested
    deeper than MAX_JSON_DEPTH, no NUL character or lone surrogate in strings or member names."""
    beyond = False

    def parse_float(text: str) -> float:
        nonlocal beyond
        number = float(text)
        beyond = beyond or math.isinf(number)
        return number

    def parse_int(text: str) -> int | float:
        nonlocal beyond
        # Converting thousands of digits is itself slow (quadratic): an infinity stands in for
        # what is refused anyway, so that the walk below finds where it was.
        if len(text) > 310 or abs(number := int(text)) > sys.float_info.max:
            beyond = True
            return math.inf
        return number

    try:
        value = json.loads(
            raw, parse_constant=_no_constant, parse_float=parse_float, parse_int=parse_int
        )
    except RecursionError:
        raise ValueError("nested too deeply") from None
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    # Cheap tests on the raw text spare the walk for almost every body.
    texts = _SUSPECT_ESCAPE.search(data) is not None
    deep = data.count(b"[") + data.count(b"{") > MAX_JSON_DEPTH and _too_deep(value)
    if beyond or texts or deep:
        _check_parsed(value, texts=texts, numbers=beyond)
    return value


def _too_deep(value: Any) -> bool:
    """Whether containers nest deeper than MAX_JSON_DEPTH: level by level, without building
    paths (the pointer is found by _check_parsed, only for a body that is refused)."""
    level = [value] if type(value) in (dict, list) else []
    for _ in range(MAX_JSON_DEPTH):
        below: list[Any] = []
        for item in level:
            members = item.values() if type(item) is dict else item
            below.extend(member for member in members if type(member) in (dict, list))
        if not below:
            return False
        level = below
    return True


def _check_parsed(value: Any, *, texts: bool, numbers: bool) -> None:
    """Depth (and, if asked, strings and numbers) of a parsed document, without recursion; the
    first problem found is raised."""

    def wanted(item: Any) -> bool:
        return (
            isinstance(item, dict | list)
            or (texts and isinstance(item, str))
            or (numbers and isinstance(item, float))
        )

    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if bad_text(item):
                raise BadJSONValue(json_pointer(*path), _BAD_TEXT)
            continue
        if isinstance(item, float):
            if math.isinf(item):
                raise BadJSONValue(json_pointer(*path), "a number beyond a double's range")
            continue
        if len(path) >= MAX_JSON_DEPTH:
            raise BadJSONValue(json_pointer(*path), f"nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, dict):
            for key, member in item.items():
                if texts and bad_text(key):
                    raise BadJSONValue(json_pointer(*path, key), f"member name {_BAD_TEXT}")
                if wanted(member):
                    stack.append((member, (*path, key)))
        else:
            stack.extend(
                (member, (*path, index)) for index, member in enumerate(item) if wanted(member)
            )


_BAD_TEXT = "contains a NUL character or a lone surrogate"


def bad_text(text: str) -> bool:
    """Whether ``text`` holds what no database stores alike: a NUL character (PostgreSQL
    refuses it in text) or a lone surrogate (not encodable as UTF-8)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_UNPARSED = object()


def json_body(request: Request) -> Any:
    """The request body as standard JSON, parsed once per request, or a 400 problem."""
    parsed = request.__dict__.get("benben.json_body", _UNPARSED)
    if parsed is _UNPARSED:
        try:
            parsed = loads_strict(request.body or b"null")
        except BadJSONValue as exc:
            raise invalid_input(
                [{"location": "body", "pointer": exc.pointer, "message": exc.message}],
                detail=f"{exc.pointer or '/'}: {exc.message}",
            ) from None
        except (ValueError, UnicodeDecodeError) as exc:
            reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc).split(":")[0]
            message = f"not valid JSON ({reason})"
            raise invalid_input(
                [{"location": "body", "pointer": "", "message": message}],
                detail="The body is not valid JSON.",
            ) from None
        request.__dict__["benben.json_body"] = parsed
    return parsed


def validate_json_body(request: Request, validator: Validator) -> Any:
    """The request's JSON body if ``validator`` accepts it; otherwise a 400 problem."""
    body = json_body(request)
    errors = schema_errors(validator, body)
    if errors and not request.body:  # not a JSON null the schema refuses: nothing was sent
        expected = validator.schema.get("type") if isinstance(validator.schema, dict) else None
        what = f"a JSON {expected}" if isinstance(expected, str) else "a JSON body"
        errors = [
            {"location": "body", "pointer": "", "message": f"the body is empty; expected {what}"}
        ]
    if errors:
        raise invalid_input(
            errors, detail="; ".join(f"{e['pointer'] or '/'}: {e['message']}" for e in errors)
        )
    return body


def _body_validator(schema: JSONSchema) -> Callable[..., None]:
    # Checked now, so that a body schema RE2 cannot run stops the start, not a request.
    validator = body_validator(schema)

    def validate_body(request: Request, **_: Any) -> None:
        request.validated = validate_json_body(request, validator)

    return validate_body


def _media_body_validator(schemas: Mapping[str, JSONSchema]) -> Callable[..., None]:
    """The body checked against the schema of its media type.  The media type itself is
    checked before (a 415 for one not in ``schemas``), by a validator the view declares."""
    validators = {media.lower(): body_validator(schema) for media, schema in schemas.items()}

    def validate_body(request: Request, **_: Any) -> None:
        validator = validators.get((request.content_type or "").lower())
        if validator is None:  # no media-type check before this one: refuse, never guess
            accepted = " or ".join(schemas)
            raise ProblemError(
                415,
                detail=f"Content-Type {request.content_type or 'none'} is not accepted here; "
                f"send {accepted}.",
                errors=[
                    {
                        "location": "header",
                        "name": "Content-Type",
                        "message": f"expected {accepted}",
                    }
                ],
            )
        request.validated = validate_json_body(request, validator)

    return validate_body
