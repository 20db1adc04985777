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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cornice
from jsonschema import Draft202012Validator
from pyramid.request import Request
from pyramid.response import Response as PyramidResponse

from benben.errors import VALIDATION_TYPE, ProblemError, cornice_error_handler, json_pointer

__all__ = [
    "Operation",
    "Parameter",
    "Response",
    "Service",
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
    parameters: Sequence[Parameter] = ()
    responses: Mapping[int, Response | str] = field(default_factory=dict)
    permission: str | None = None


_DOC_ARGUMENTS = (
    "summary",
    "description",
    "operation_id",
    "body_schema",
    "body_media_types",
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
            Draft202012Validator.check_schema(schema)
            kwargs["validators"] = (
                *tuple(kwargs.get("validators", ())),
                _body_validator(schema),
            )
        self.operations[method.upper()] = Operation(
            method=method.upper(), tags=tags, permission=kwargs.get("permission"), **docs
        )
        super().add_view(method, view, **kwargs)


def schema_errors(
    validator: Draft202012Validator, instance: Any, *, prefix: Sequence[Any] = ()
) -> list[dict[str, str]]:
    """Every violation as ``{"location": "body", "pointer", "message"}``, in document order.

    A missing required member or an unknown one points at that member (``/name``), not at the
    object holding it: the pointer names the field to fix.
    """
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.path])
    found: dict[tuple[str, str], dict[str, str]] = {}
    for error in errors:
        path = (*prefix, *error.absolute_path)
        members = _member_errors(error)
        located = [(json_pointer(*path, member), message) for member, message in members]
        # The same member can be reported by several subschemas (a ``required`` repeated under
        # ``allOf``, ``if``/``then``): the client needs each problem once.
        for pointer, message in located or [(json_pointer(*path), error.message)]:
            found.setdefault(
                (pointer, message), {"location": "body", "pointer": pointer, "message": message}
            )
    return list(found.values())


def _member_errors(error: Any) -> list[tuple[str, str]]:
    """``required`` and ``additionalProperties: false`` errors, one per member named."""
    instance = error.instance
    if not isinstance(instance, dict):
        return []
    if error.validator == "required":
        return [(name, "is required") for name in error.validator_value if name not in instance]
    if error.validator == "additionalProperties" and error.validator_value is False:
        known = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        accepted = ", ".join(sorted(known))
        return [
            (name, f"unknown field; accepted: {accepted}" if accepted else "unknown field")
            for name in instance
            if name not in known and not any(_matches(p, name) for p in patterns)
        ]
    return []


def _matches(pattern: str, name: str) -> bool:
    return re.search(pattern, name) is not None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError("a number beyond the range of a double")
    return number


def loads_strict(raw: bytes | str) -> Any:
    """Standard JSON only (ValueError otherwise): no NaN or Infinity, no number beyond a
    double's range, no nesting so deep that parsing it exhausts the stack."""
    try:
        return json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError("nested too deeply") from None


_UNPARSED = object()


def json_body(request: Request) -> Any:
    """The request body as standard JSON, parsed once per request, or a 400 problem."""
    parsed = request.__dict__.get("benben.json_body", _UNPARSED)
    if parsed is _UNPARSED:
        try:
            parsed = loads_strict(request.body or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc).split(":")[0]
            message = f"not valid JSON ({reason})"
            raise ProblemError(
                400,
                title="Invalid request",
                type=VALIDATION_TYPE,
                detail="The body is not valid JSON.",
                errors=[{"location": "body", "pointer": "", "message": message}],
            ) from None
        request.__dict__["benben.json_body"] = parsed
    return parsed


def validate_json_body(request: Request, validator: Draft202012Validator) -> Any:
    """The request's JSON body if ``validator`` accepts it; otherwise a 400 problem."""
    body = json_body(request)
    errors = schema_errors(validator, body)
    if errors:
        raise ProblemError(
            400,
            title="Invalid request",
            type=VALIDATION_TYPE,
            detail="; ".join(f"{e['pointer'] or '/'}: {e['message']}" for e in errors),
            errors=errors,
        )
    return body


def _body_validator(schema: JSONSchema) -> Callable[..., None]:
    validator = Draft202012Validator(schema)

    def validate_body(request: Request, **_: Any) -> None:
        request.validated = validate_json_body(request, validator)

    return validate_body
