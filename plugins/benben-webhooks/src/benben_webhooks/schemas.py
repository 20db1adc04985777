"""JSON Schemas of the webhooks API: bodies (enforced before the views run) and responses
(documented).  Rules a schema cannot say (URL schemes, event types Benben knows, who may read
a collection) are checked by :mod:`.validation`."""

from __future__ import annotations

from typing import Any

__all__ = [
    "CREATED_ENDPOINT",
    "DELIVERY",
    "DELIVERY_DETAIL",
    "ENDPOINT",
    "ENDPOINT_CREATE",
    "ENDPOINT_UPDATE",
    "MAX_COLLECTIONS",
    "MAX_EVENT_TYPES",
    "MAX_URL_LENGTH",
    "REDELIVER",
    "ROTATED_SECRET",
]

MAX_URL_LENGTH = 2048
MAX_EVENT_TYPES = 50
MAX_COLLECTIONS = 100

# "*", "area.*" (or "area.sub.*"), or an exact type "area.what": dotted lower-case words.
_WORD = "[a-z][a-z0-9_]*"
EVENT_PATTERN = rf"^(\*|{_WORD}(\.{_WORD})*\.\*|{_WORD}(\.{_WORD})+)$"
COLLECTION_ID = "^[a-z0-9][a-z0-9_-]{0,63}$"

_URL = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_URL_LENGTH,
    "description": "Where deliveries are POSTed: `https://` (plain `http://` only where the "
    "instance allows it), no user name or password in it.",
    "examples": ["https://hooks.example.org/benben"],
}
_EVENT_TYPES = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_EVENT_TYPES,
    "items": {"type": "string", "maxLength": 64, "pattern": EVENT_PATTERN},
    "description": "Event types to deliver: exact types (`record.created`), every type of an "
    'area (`record.*`) or `*` for all. Default `["*"]`.',
    "examples": [["record.*"]],
}
_COLLECTIONS = {
    "type": "array",
    "maxItems": MAX_COLLECTIONS,
    "items": {"type": "string", "pattern": COLLECTION_ID},
    "description": "Only events about these collections (ids), each one the caller may read. "
    "Empty (the default): events about everything, users and groups included, which only "
    "administrators may subscribe to.",
}
_DESCRIPTION = {"type": "string", "maxLength": 500}
_MAX_IN_FLIGHT = {
    "type": "integer",
    "minimum": 1,
    "maximum": 100,
    "description": "Deliveries sent to this endpoint at once, at most (default: the setting "
    "`benben.webhooks.max_in_flight`).",
}

_FIELDS: dict[str, Any] = {
    "url": _URL,
    "event_types": _EVENT_TYPES,
    "collections": _COLLECTIONS,
    "enabled": {"type": "boolean", "description": "Default true."},
    "description": _DESCRIPTION,
    "max_in_flight": _MAX_IN_FLIGHT,
}

ENDPOINT_CREATE: dict[str, Any] = {
    "title": "WebhookCreate",
    "type": "object",
    "required": ["url"],
    "properties": _FIELDS,
    "additionalProperties": False,
}

ENDPOINT_UPDATE: dict[str, Any] = {
    "title": "WebhookUpdate",
    "description": "The members given replace the endpoint's; the others are kept.",
    "type": "object",
    "properties": _FIELDS,
    "additionalProperties": False,
}

_TIME = {"type": "string", "format": "date-time"}
_OPTIONAL_TIME = {"type": ["string", "null"], "format": "date-time"}

ENDPOINT: dict[str, Any] = {
    "title": "Webhook",
    "type": "object",
    "required": [
        "id",
        "owner",
        "url",
        "description",
        "event_types",
        "collections",
        "enabled",
        "disabled_reason",
        "failing_since",
        "max_in_flight",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ],
    "properties": {
        "id": {"type": "string"},
        "owner": {"type": "string", "description": "The id of the user who created it."},
        "url": {"type": "string"},
        "description": {"type": "string"},
        "event_types": {"type": "array", "items": {"type": "string"}},
        "collections": {"type": "array", "items": {"type": "string"}},
        "enabled": {"type": "boolean"},
        "disabled_reason": {
            "type": ["string", "null"],
            "description": "Why Benben disabled it (failing for too long, or the receiver "
            "answered 410); null otherwise.",
        },
        "failing_since": {
            **_OPTIONAL_TIME,
            "description": "The first failure of the current run of failures; null after a "
            "success.",
        },
        "max_in_flight": {"type": "integer"},
        "previous_secret_expires_at": {
            **_OPTIONAL_TIME,
            "description": "Until then, the secret replaced by the last rotation signs too.",
        },
        "created_at": _TIME,
        "updated_at": _TIME,
    },
    "additionalProperties": False,
}

_SECRET = {
    "type": "string",
    "pattern": "^whsec_[A-Za-z0-9+/]+={0,2}$",
    "description": "The signing secret (Standard Webhooks): shown in this response only.",
}

CREATED_ENDPOINT: dict[str, Any] = {
    **ENDPOINT,
    "title": "CreatedWebhook",
    "required": [*ENDPOINT["required"], "secret"],
    "properties": {**ENDPOINT["properties"], "secret": _SECRET},
}

ROTATED_SECRET: dict[str, Any] = CREATED_ENDPOINT | {"title": "WebhookWithNewSecret"}

_DELIVERY_STATUS = {"type": "string", "enum": ["pending", "succeeded", "failed", "skipped"]}

DELIVERY: dict[str, Any] = {
    "title": "WebhookDelivery",
    "type": "object",
    "required": [
        "id",
        "message_id",
        "event_type",
        "event",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "latency_ms",
    ],
    "properties": {
        "id": {"type": "string"},
        "message_id": {
            "type": "string",
            "description": "`webhook-id`: the same on every attempt and redelivery.",
        },
        "event_type": {"type": "string"},
        "event": {
            "type": ["string", "null"],
            "description": "The event's feed position; null for a test event.",
        },
        "status": _DELIVERY_STATUS,
        "attempts": {"type": "integer", "minimum": 0},
        "created_at": _TIME,
        "next_attempt_at": {
            **_TIME,
            "description": "When a pending delivery is (re)tried.",
        },
        "last_attempt_at": _OPTIONAL_TIME,
        "last_status_code": {"type": ["integer", "null"]},
        "last_error": {"type": ["string", "null"]},
        "latency_ms": {
            "type": ["integer", "null"],
            "description": "How long the last attempt took.",
        },
    },
    "additionalProperties": False,
}

ATTEMPT: dict[str, Any] = {
    "title": "WebhookAttempt",
    "type": "object",
    "required": [
        "attempted_at",
        "succeeded",
        "status_code",
        "latency_ms",
        "error",
        "response_body",
    ],
    "properties": {
        "attempted_at": _TIME,
        "succeeded": {"type": "boolean"},
        "status_code": {"type": ["integer", "null"]},
        "latency_ms": {"type": "integer"},
        "error": {"type": ["string", "null"]},
        "response_body": {
            "type": ["string", "null"],
            "description": "The start of the response body (`benben.webhooks.response_log_bytes`).",
        },
    },
    "additionalProperties": False,
}

DELIVERY_DETAIL: dict[str, Any] = {
    **DELIVERY,
    "title": "WebhookDeliveryDetail",
    "required": [*DELIVERY["required"], "payload", "attempt_log"],
    "properties": {
        **DELIVERY["properties"],
        "payload": {"type": "object", "description": "The JSON body sent."},
        "attempt_log": {
            "type": "array",
            "items": ATTEMPT,
            "maxItems": 50,
            "description": "The latest attempts (at most 50; `attempts` counts them all), "
            "oldest first.",
        },
    },
}

REDELIVER: dict[str, Any] = {
    "title": "WebhookRedeliver",
    "type": "object",
    "description": "Either `since` (a time) or `since_event` (a feed position): every delivery "
    "to this endpoint created then or after, succeeded or failed, is sent again.",
    "properties": {
        "since": {"type": "string", "format": "date-time", "maxLength": 64},
        "since_event": {"type": "string", "pattern": "^[0-9]{1,18}-[0-9]{1,18}$"},
    },
    "additionalProperties": False,
    "minProperties": 1,
    "maxProperties": 1,
}

REDELIVERED: dict[str, Any] = {
    "title": "WebhookRedelivered",
    "type": "object",
    "required": ["redelivered"],
    "properties": {"redelivered": {"type": "integer", "minimum": 0}},
    "additionalProperties": False,
}
