"""The parts of the document every operation shares: problems, the bearer scheme, request ids."""

from __future__ import annotations

from typing import Any

from benben.errors import PROBLEM_JSON, VALIDATION_TYPE

__all__ = ["PROBLEM_REF", "TAGS", "base_components", "problem_content"]

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

# Core's tags, in the order the document lists them.  A plugin's operations without tags are
# tagged with the plugin's name (and its description).
TAGS = {
    "operations": "Probes and version, for load balancers, orchestrators and monitoring.",
    "api": "What this instance is and can do, and this document.",
    "auth": "Logging in and out, sessions and personal API tokens.",
    "accounts": "Users, groups and group memberships.",
    "data": "Collections and records of JSON data.",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details, with Benben's `request_id` and `errors` members.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri-reference",
            "description": "`about:blank` (the status says it all) or a `urn:benben:problem:*` "
            "type.",
            "examples": ["about:blank", VALIDATION_TYPE],
        },
        "title": {"type": "string", "description": "Short summary of the problem type."},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong, for a human."},
        "instance": {"type": "string", "description": "The request's path."},
        "request_id": {
            "type": "string",
            "description": "Same as the `X-Request-ID` response header: quote it when reporting.",
        },
        "errors": {
            "type": "array",
            "description": "One entry per invalid input (validation errors, some refusals).",
            "items": {"$ref": "#/components/schemas/ProblemError"},
        },
    },
    "additionalProperties": True,
}

PROBLEM_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One invalid input: where it is, which value, what is wrong with it.",
    "required": ["location", "message"],
    "properties": {
        "location": {
            "type": "string",
            "description": "Where the invalid input is.",
            "examples": ["body", "querystring", "path", "header"],
        },
        "pointer": {
            "type": "string",
            "description": "RFC 6901 JSON pointer to the invalid value within that location "
            '(`""`: the whole of it).',
            "examples": ["/name"],
        },
        "name": {
            "type": "string",
            "description": "The name of the invalid parameter or header.",
        },
        "message": {"type": "string"},
    },
    "additionalProperties": False,
}


def problem_content() -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": dict(PROBLEM_REF)}}


def base_components() -> dict[str, Any]:
    """``components`` before any operation is added."""
    return {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "An access token from `POST /api/v1/auth/login` (a JWT) or a "
                "personal API token (`bbn_...`), as `Authorization: Bearer <token>`.",
            }
        },
        "parameters": {
            "RequestId": {
                "name": "X-Request-ID",
                "in": "header",
                "required": False,
                "description": "An id to trace the request by. Kept when it is 1 to 128 "
                "characters of `A-Z a-z 0-9 . _ : @ / + = -`; otherwise (or when absent) a new "
                "random id is used.",
                "schema": {"type": "string"},
            }
        },
        "headers": {
            "RequestId": {
                "description": "The request's id, also in every log line about it and in "
                "problem bodies.",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:@/+=-]{1,128}$"},
            }
        },
        "responses": {
            "Problem": {
                "description": "Any other error, as a problem: for example 405 with an `Allow` "
                "header, 413 for a body over the size limit, 429 with `Retry-After`, 500 with "
                "only the request id to quote, 503 with `Retry-After` when the database is "
                "unavailable.",
                "headers": {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}},
                "content": problem_content(),
            }
        },
        "schemas": {"Problem": PROBLEM_SCHEMA, "ProblemError": PROBLEM_ERROR_SCHEMA},
    }
