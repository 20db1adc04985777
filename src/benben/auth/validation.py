"""Reading JSON request bodies into clear 400 problems (with a JSON pointer per bad field)."""

from __future__ import annotations

import json
from typing import Any

from pyramid.request import Request

from benben.errors import VALIDATION_TYPE, ProblemError, json_pointer

__all__ = ["field_error", "invalid", "json_object", "string_field"]


def field_error(field: str | tuple[str | int, ...], message: str) -> dict[str, str]:
    """An ``errors`` entry; ``field`` is a member name or a path such as ``("scopes", 1)``."""
    parts = field if isinstance(field, tuple) else (field,)
    return {"location": "body", "pointer": json_pointer(*parts), "message": message}


def invalid(*errors: dict[str, str]) -> ProblemError:
    detail = "; ".join(f"{e['pointer'] or e['location']}: {e['message']}" for e in errors)
    return ProblemError(
        400, title="Invalid request", type=VALIDATION_TYPE, detail=detail, errors=list(errors)
    )


def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, or a 400 saying what is wrong with it."""
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise invalid(
            {"location": "body", "pointer": "", "message": "the body is not valid JSON"}
        ) from None
    if not isinstance(body, dict):
        raise invalid({"location": "body", "pointer": "", "message": "expected a JSON object"})
    return body


def string_field(
    body: dict[str, Any], field: str, *, max_length: int, required: bool = True
) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise invalid(field_error(field, "is required"))
        return None
    if not isinstance(value, str):
        raise invalid(field_error(field, "must be a string"))
    if not value:
        raise invalid(field_error(field, "must not be empty"))
    if len(value) > max_length:
        raise invalid(field_error(field, f"must be at most {max_length} characters long"))
    return value
