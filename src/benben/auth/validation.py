"""The views' own checks of body fields (beyond the schemas), as 400 problems with pointers."""

from __future__ import annotations

from typing import Any

from benben.errors import ProblemError, invalid_input, json_pointer

__all__ = ["field_error", "invalid", "string_field"]


def field_error(field: str | tuple[str | int, ...], message: str) -> dict[str, str]:
    """An ``errors`` entry; ``field`` is a member name or a path such as ``("scopes", 1)``."""
    parts = field if isinstance(field, tuple) else (field,)
    return {"location": "body", "pointer": json_pointer(*parts), "message": message}


def invalid(*errors: dict[str, str]) -> ProblemError:
    return invalid_input(errors)


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
