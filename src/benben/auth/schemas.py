"""JSON Schemas of the authentication API: request bodies (enforced before the views run) and
responses (what the OpenAPI document promises).

Body schemas check the shape; what needs its own message (one of username/email/login, blank
names, expiry bounds against the clock) stays in the views.
"""

from __future__ import annotations

from typing import Any

from benben.accounts.schemas import USER
from benben.security.permissions import SCOPES

__all__ = [
    "API_TOKEN",
    "API_TOKEN_CREATE",
    "CREATED_API_TOKEN",
    "JWKS",
    "LOGIN",
    "ME",
    "NO_STORE_DOC",
    "REFRESH",
    "TOKEN_PAIR",
]

_TIME = {"type": ["string", "null"], "format": "date-time"}
_SCOPES = {"type": "array", "items": {"enum": list(SCOPES)}}
NO_STORE_DOC = {"Cache-Control": "`no-store`: tokens are never cached."}

LOGIN: dict[str, Any] = {
    "title": "LoginRequest",
    "type": "object",
    "description": "Exactly one of `username`, `email` or `login` (either of the two), and the "
    "password (at most 1024 characters).",
    "required": ["password"],
    "properties": {
        "username": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]},
        "login": {"type": ["string", "null"]},
        "password": {"type": "string", "format": "password"},
    },
    "additionalProperties": False,
}
REFRESH: dict[str, Any] = {
    "title": "RefreshRequest",
    "type": "object",
    "required": ["refresh_token"],
    "properties": {"refresh_token": {"type": "string", "description": "At most 1024 characters."}},
    "additionalProperties": False,
}
TOKEN_PAIR: dict[str, Any] = {
    "title": "TokenPair",
    "type": "object",
    "required": ["access_token", "token_type", "expires_in", "refresh_token"],
    "properties": {
        "access_token": {
            "type": "string",
            "description": "A JWT (sub, iat, exp, jti, iss, aud): send it as "
            "`Authorization: Bearer <token>`.",
        },
        "token_type": {"const": "Bearer"},
        "expires_in": {"type": "integer", "description": "Seconds until the access token expires."},
        "refresh_token": {"type": "string", "pattern": "^bbr_", "description": "Single use."},
    },
    "additionalProperties": False,
}
ME: dict[str, Any] = {
    "title": "Me",
    "type": "object",
    "required": ["user", "groups", "roles", "scopes", "credential"],
    "properties": {
        "user": USER,
        "groups": {"type": "array", "items": {"type": "string"}},
        "roles": {"type": "array", "items": {"enum": ["admin"]}},
        "scopes": {
            **_SCOPES,
            "type": ["array", "null"],
            "description": "The API token's scopes; null for a login session (unrestricted).",
        },
        "credential": {"enum": ["jwt", "api_token"]},
    },
    "additionalProperties": False,
}

API_TOKEN_CREATE: dict[str, Any] = {
    "title": "ApiTokenCreate",
    "type": "object",
    "description": "Give `expires_in` or `expires_at` (at least a minute, at most 10 years "
    "ahead), or neither for a token that does not expire (it stays revocable).",
    "required": ["name", "scopes"],
    "properties": {
        "name": {"type": "string", "maxLength": 100, "description": "Unique among yours."},
        "scopes": {**_SCOPES, "minItems": 1},
        "expires_in": {"type": ["integer", "null"], "minimum": 60, "maximum": 3660 * 86400},
        "expires_at": {**_TIME, "description": "With a time zone (`Z`)."},
    },
    "additionalProperties": False,
}
_API_TOKEN_PROPERTIES: dict[str, Any] = {
    "id": {"type": "string"},
    "name": {"type": "string"},
    "scopes": _SCOPES,
    "created_at": _TIME,
    "expires_at": _TIME,
    "last_used_at": _TIME,
    "revoked_at": _TIME,
}
API_TOKEN: dict[str, Any] = {
    "title": "ApiToken",
    "type": "object",
    "required": list(_API_TOKEN_PROPERTIES),
    "properties": _API_TOKEN_PROPERTIES,
    "additionalProperties": False,
}
CREATED_API_TOKEN: dict[str, Any] = {
    "title": "CreatedApiToken",
    "type": "object",
    "required": [*_API_TOKEN_PROPERTIES, "token"],
    "properties": {
        **_API_TOKEN_PROPERTIES,
        "token": {
            "type": "string",
            "pattern": "^bbn_",
            "description": "The secret, shown this once (only its digest is stored).",
        },
    },
    "additionalProperties": False,
}
JWKS: dict[str, Any] = {
    "title": "JWKS",
    "type": "object",
    "description": "RFC 7517 JSON Web Key Set: the public key that verifies access tokens.",
    "required": ["keys"],
    "properties": {
        "keys": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kty"],
                "properties": {"kty": {"type": "string"}},
            },
        }
    },
}
