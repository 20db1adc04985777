"""JSON Schemas of the accounts API: request bodies (enforced before the views run) and
responses (what the OpenAPI document promises; the tests hold real responses to them).  The
lists' envelopes and parameters are in :mod:`.lists`.

Body schemas check the shape only (types, required and unknown members): the rules with
messages of their own (name patterns, the password policy, email syntax) stay in
:mod:`.validation`, shared with the CLI, so that one response still reports every field the
shape lets through.
"""

from __future__ import annotations

from typing import Any

from .validation import DESCRIPTION_MAX_LENGTH, DISPLAY_NAME_MAX_LENGTH, NAME_RULE

__all__ = [
    "GROUP",
    "GROUP_CREATE",
    "GROUP_UPDATE",
    "MEMBER",
    "MEMBER_REQUEST",
    "UPDATED_USER",
    "USER",
    "USER_CREATE",
    "USER_UPDATE",
]

_TIME = {"type": ["string", "null"], "format": "date-time"}
_NAME = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{1,63}$"}
_NULLABLE_STRING = {"type": ["string", "null"]}

_USER_PROPERTIES: dict[str, Any] = {
    "id": {"type": "string"},
    "username": _NAME,
    "email": _NULLABLE_STRING,
    "display_name": {"type": "string", "maxLength": DISPLAY_NAME_MAX_LENGTH},
    "is_active": {"type": "boolean"},
    "roles": {"type": "array", "items": {"enum": ["admin"]}},
    "groups": {"type": "array", "items": {"type": "string"}, "description": "Group names."},
    "last_login_at": _TIME,
    "created_at": _TIME,
    "updated_at": _TIME,
}
USER: dict[str, Any] = {
    "title": "User",
    "type": "object",
    "required": list(_USER_PROPERTIES),
    "properties": _USER_PROPERTIES,
    "additionalProperties": False,
}
UPDATED_USER: dict[str, Any] = {
    "title": "UpdatedUser",
    "description": "The user; `session` only after changing one's own password in a login "
    "session (the other sessions ended; this one goes on with this access token).",
    "type": "object",
    "required": list(_USER_PROPERTIES),
    "properties": {
        **_USER_PROPERTIES,
        "session": {
            "type": "object",
            "required": ["access_token", "token_type", "expires_in"],
            "properties": {
                "access_token": {"type": "string"},
                "token_type": {"const": "Bearer"},
                "expires_in": {"type": "integer"},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
_POLICY_RULES = (
    "The password policy applies (`benben.auth.password_min_length`, at most 1024 characters, "
    "not only whitespace, not the username or email)."
)
USER_CREATE: dict[str, Any] = {
    "title": "UserCreate",
    "type": "object",
    "description": f"Username: {NAME_RULE} (stored lowercased). {_POLICY_RULES}",
    "required": ["username", "password"],
    "properties": {
        "username": {"type": "string"},
        "password": {"type": "string", "format": "password"},
        "email": _NULLABLE_STRING,
        "display_name": {**_NULLABLE_STRING, "description": "At most 200 characters."},
        "is_admin": {"type": "boolean", "default": False},
        "is_active": {"type": "boolean", "default": True},
    },
    "additionalProperties": False,
}
USER_UPDATE: dict[str, Any] = {
    "title": "UserUpdate",
    "type": "object",
    "description": "Only the members given change. Users change their own `display_name`, "
    "`email` and `password` (with `current_password`); the rest, and other users' accounts, "
    f"need an administrator. {_POLICY_RULES}",
    "properties": {
        **{k: v for k, v in USER_CREATE["properties"].items() if not k.startswith("is_")},
        "is_admin": {"type": "boolean"},
        "is_active": {"type": "boolean"},
        "current_password": {
            "type": "string",
            "format": "password",
            "description": "Required to change one's own password.",
        },
    },
    "additionalProperties": False,
}

_GROUP_PROPERTIES: dict[str, Any] = {
    "id": {"type": "string"},
    "name": _NAME,
    "description": {"type": "string", "maxLength": DESCRIPTION_MAX_LENGTH},
    "member_count": {"type": "integer", "minimum": 0},
    "created_at": _TIME,
    "updated_at": _TIME,
}
GROUP: dict[str, Any] = {
    "title": "Group",
    "type": "object",
    "required": list(_GROUP_PROPERTIES),
    "properties": _GROUP_PROPERTIES,
    "additionalProperties": False,
}
_GROUP_WRITE_PROPERTIES: dict[str, Any] = {
    "name": {"type": "string", "description": NAME_RULE + " (stored lowercased)."},
    "description": {**_NULLABLE_STRING, "description": "At most 1000 characters."},
}
GROUP_CREATE: dict[str, Any] = {
    "title": "GroupCreate",
    "type": "object",
    "required": ["name"],
    "properties": _GROUP_WRITE_PROPERTIES,
    "additionalProperties": False,
}
GROUP_UPDATE: dict[str, Any] = {
    "title": "GroupUpdate",
    "type": "object",
    "properties": _GROUP_WRITE_PROPERTIES,
    "additionalProperties": False,
}

MEMBER: dict[str, Any] = {
    "title": "Member",
    "type": "object",
    "required": ["id", "username", "display_name"],
    "properties": {"id": {"type": "string"}, "username": _NAME, "display_name": {"type": "string"}},
    "additionalProperties": False,
}
MEMBER_REQUEST: dict[str, Any] = {
    "title": "MemberRequest",
    "type": "object",
    "description": "Exactly one of `user_id` and `username`.",
    "properties": {"user_id": {"type": "string"}, "username": {"type": "string"}},
    "oneOf": [{"required": ["user_id"]}, {"required": ["username"]}],
    "additionalProperties": False,
}
