"""Request bodies into clean values: what the body schemas of :mod:`.bodies` cannot say.

Each function takes a body that its JSON Schema already accepted and raises a 400 problem with a
pointer per problem, or returns the values to store (permissions normalized).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from pyramid.request import Request

from benben.data.bodies import COLLECTION_PUT, RECORD_BODY
from benben.data.models import Collection
from benben.data.query_params import META_FIELDS, parse_field_path
from benben.data.record_schema import check_record_data
from benben.data.validation import (
    COLLECTION_ID_RE,
    COLLECTION_ID_RULE,
    PRINCIPAL_RE,
    body_error,
    check_collection_schema,
    hygiene_errors,
    invalid,
    normalized_permissions,
)
from benben.errors import json_pointer
from benben.jsonschemas import body_validator
from benben.rest import schema_errors

__all__ = ["check_body", "clean_collection_fields", "clean_record_body"]

_VALIDATORS = {
    "collection": body_validator(COLLECTION_PUT),
    "record": body_validator(RECORD_BODY),
}


def check_body(kind: str, body: Any) -> None:
    """A patched body must still be a valid PUT body (``kind``: collection or record)."""
    errors = schema_errors(_VALIDATORS[kind], body)
    if errors:
        raise invalid(errors)


def _check_hygiene(body: Any) -> None:
    errors = hygiene_errors(body)
    if errors:
        raise invalid(errors)


def _permission_errors(permissions: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """Principal patterns again, matched whole (a JSON Schema ``$`` lets a final newline by)."""
    errors = []
    for name, principals in (permissions or {}).items():
        for index, principal in enumerate(principals or ()):
            if not PRINCIPAL_RE.fullmatch(principal):
                errors.append(
                    {
                        "location": "body",
                        "pointer": json_pointer("permissions", name, index),
                        "message": "not a principal: system.Everyone, "
                        "system.Authenticated, user:<id>, group:<name> or role:admin",
                    }
                )
    return errors


def check_collection_id(collection_id: str) -> None:
    if not COLLECTION_ID_RE.fullmatch(collection_id):
        raise invalid([body_error("/id", COLLECTION_ID_RULE)])


def clean_collection_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """The collection members given in ``body`` (title, description, schema, indexed_fields,
    searchable_fields, search_language, permissions), checked."""
    _check_hygiene(body)
    errors = _permission_errors(body.get("permissions"))
    for name, multiline in (("title", False), ("description", True)):
        text = body.get(name)
        allowed = {"\n", "\r", "\t"} if multiline else set()
        if isinstance(text, str) and any(
            unicodedata.category(c) == "Cc" and c not in allowed for c in text
        ):
            errors.append(
                {
                    "location": "body",
                    "pointer": f"/{name}",
                    "message": "must not contain control characters",
                }
            )
    errors += _field_path_errors(body, "indexed_fields", "always indexed")
    errors += _field_path_errors(body, "searchable_fields", "not text")
    if errors:
        raise invalid(errors)
    check_collection_schema(body.get("schema"))
    fields = {
        name: body[name]
        for name in (
            "title",
            "description",
            "schema",
            "indexed_fields",
            "searchable_fields",
            "search_language",
        )
        if name in body
    }
    if "permissions" in body:
        fields["permissions"] = normalized_permissions(body["permissions"])
    return fields


def _field_path_errors(body: Mapping[str, Any], member: str, meta: str) -> list[dict[str, str]]:
    """The paths of ``member`` (indexed_fields, searchable_fields) that are not data paths."""
    errors = []
    for index, field in enumerate(body.get(member) or ()):
        pointer = json_pointer(member, index)
        try:
            path = parse_field_path(field)
        except ValueError as exc:
            errors.append({"location": "body", "pointer": pointer, "message": str(exc)})
            continue
        if len(path) == 1 and path[0] in META_FIELDS:
            errors.append(
                {
                    "location": "body",
                    "pointer": pointer,
                    "message": f"{field} is a record's metadata, {meta}",
                }
            )
    return errors


def clean_record_body(
    request: Request, collection: Collection, body: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]] | None]:
    """``(data, permissions)`` of a record body (permissions None when not given)."""
    errors = _permission_errors(body.get("permissions"))
    if errors:
        raise invalid(errors)
    data = body["data"]
    check_record_data(request.registry, collection, data)
    permissions = body.get("permissions")
    return data, (normalized_permissions(permissions) if permissions is not None else None)
