"""The JSON Schemas of the data API's request and response bodies.

Request schemas are enforced before a view runs (``Service(body_schema=...)``) and, like the
response schemas, are what the OpenAPI document shows: behaviour and documentation share them.
"""

from __future__ import annotations

from typing import Any

from benben.data.search_text import SEARCH_LANGUAGES
from benben.data.validation import COLLECTION_ID, FIELD_PATH, PRINCIPAL, RECORD_ID
from benben.rest import Parameter

__all__ = [
    "COLLECTION",
    "COLLECTION_CREATE",
    "COLLECTION_PATCHES",
    "COLLECTION_PUT",
    "DRY_RUN_REPORT",
    "JSON_PATCH",
    "MAX_INDEXED_FIELDS",
    "MAX_SEARCHABLE_FIELDS",
    "RECORD",
    "RECORD_BODY",
    "RECORD_LIST",
    "RECORD_LIST_PARAMETERS",
    "RECORD_PATCHES",
]

Schema = dict[str, Any]

MAX_INDEXED_FIELDS = 16
MAX_SEARCHABLE_FIELDS = 16
MAX_PRINCIPALS = 256
MAX_PATCH_OPERATIONS = 1000
COLLECTION_PERMISSION_NAMES = ("read", "write", "create", "admin")
RECORD_PERMISSION_NAMES = ("read", "write")

PRINCIPAL_SCHEMA: Schema = {
    "type": "string",
    "pattern": PRINCIPAL,
    "description": "system.Everyone, system.Authenticated, user:<id>, group:<name> or role:admin.",
}


def _principals(nullable: bool = False) -> Schema:
    return {
        "type": ["array", "null"] if nullable else "array",
        "items": PRINCIPAL_SCHEMA,
        "maxItems": MAX_PRINCIPALS,
    }


def _permissions(names: tuple[str, ...], nullable: bool = False) -> Schema:
    return {
        "type": ["object", "null"] if nullable else "object",
        "description": "Principals granted each permission.",
        "properties": {name: _principals(nullable) for name in names},
        "additionalProperties": False,
    }


COLLECTION_PERMISSIONS = _permissions(COLLECTION_PERMISSION_NAMES)
RECORD_PERMISSIONS = _permissions(RECORD_PERMISSION_NAMES)

_INDEXED_FIELDS: Schema = {
    "type": "array",
    "description": "Dotted paths into record data to index (filters and sorts on them are fast).",
    "items": {"type": "string", "pattern": FIELD_PATH, "maxLength": 520},
    "maxItems": MAX_INDEXED_FIELDS,
    "uniqueItems": True,
}
_SEARCHABLE_FIELDS: Schema = {
    "type": "array",
    "description": "Dotted paths into record data that _q searches: a string, or an array's "
    "strings (other JSON types hold no text).",
    "items": {"type": "string", "pattern": FIELD_PATH, "maxLength": 520},
    "maxItems": MAX_SEARCHABLE_FIELDS,
    "uniqueItems": True,
}
_SEARCH_LANGUAGE: Schema = {
    "type": "string",
    "enum": list(SEARCH_LANGUAGES),
    "description": "The language of the searchable text: its stop words and word stems "
    "(simple: neither). Default simple.",
}
_COLLECTION_FIELDS: dict[str, Schema] = {
    "title": {"type": "string", "maxLength": 200},
    "description": {"type": "string", "maxLength": 10_000},
    "schema": {
        "type": ["object", "null"],
        "description": "JSON Schema (draft 2020-12) every record's data must satisfy; null: any "
        "object. References must stay inside the schema ('#...').",
    },
    "indexed_fields": _INDEXED_FIELDS,
    "searchable_fields": _SEARCHABLE_FIELDS,
    "search_language": _SEARCH_LANGUAGE,
    "permissions": COLLECTION_PERMISSIONS,
}
_COLLECTION_ID_SCHEMA: Schema = {"type": "string", "pattern": COLLECTION_ID}

COLLECTION_CREATE: Schema = {
    "type": "object",
    "required": ["id"],
    "properties": {"id": _COLLECTION_ID_SCHEMA, **_COLLECTION_FIELDS},
    "additionalProperties": False,
}
COLLECTION_PUT: Schema = {
    "type": "object",
    "description": "Members left out take their defaults; permissions left out are kept.",
    "properties": {"id": _COLLECTION_ID_SCHEMA, **_COLLECTION_FIELDS},
    "additionalProperties": False,
}
COLLECTION_MERGE_PATCH: Schema = {
    "title": "CollectionMergePatch",
    "type": "object",
    "description": "RFC 7396 merge patch of the collection (null removes a member).",
    "properties": {
        "title": {"type": ["string", "null"], "maxLength": 200},
        "description": {"type": ["string", "null"], "maxLength": 10_000},
        "schema": {"type": ["object", "null"]},
        "indexed_fields": {**_INDEXED_FIELDS, "type": ["array", "null"]},
        "searchable_fields": {**_SEARCHABLE_FIELDS, "type": ["array", "null"]},
        "search_language": {
            **_SEARCH_LANGUAGE,
            "type": ["string", "null"],
            "enum": [*SEARCH_LANGUAGES, None],
        },
        "permissions": _permissions(COLLECTION_PERMISSION_NAMES, nullable=True),
    },
    "additionalProperties": False,
}

JSON_PATCH: Schema = {
    "title": "JsonPatch",
    "type": "array",
    "description": "RFC 6902 JSON Patch; paths point into the resource's body, for a record "
    "`/data/...` or `/permissions/...`.",
    "maxItems": MAX_PATCH_OPERATIONS,
    "items": {
        "type": "object",
        "required": ["op", "path"],
        "properties": {
            "op": {"enum": ["add", "remove", "replace", "move", "copy", "test"]},
            "path": {"type": "string"},
            "from": {"type": "string"},
            "value": {},
        },
        "additionalProperties": False,
        "allOf": [
            {
                "if": {"properties": {"op": {"enum": ["add", "replace", "test"]}}},
                "then": {"required": ["value"]},
            },
            {
                "if": {"properties": {"op": {"enum": ["move", "copy"]}}},
                "then": {"required": ["from"]},
            },
        ],
    },
}


def _patches(merge: Schema) -> dict[str, Schema]:
    """A PATCH body by its Content-Type: a merge patch, or a JSON Patch.  ``application/json``
    means a merge patch too, for clients that cannot send another type."""
    return {
        "application/merge-patch+json": merge,
        "application/json-patch+json": JSON_PATCH,
        "application/json": merge,
    }


COLLECTION_PATCHES = _patches(COLLECTION_MERGE_PATCH)

RECORD_BODY: Schema = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {"type": "object", "description": "The record; the collection's schema applies."},
        "permissions": RECORD_PERMISSIONS,
    },
    "additionalProperties": False,
}
RECORD_MERGE_PATCH: Schema = {
    "title": "RecordMergePatch",
    "type": "object",
    "description": "RFC 7396 merge patch of {data, permissions} (null removes a member).",
    "properties": {
        "data": {"type": "object"},
        "permissions": _permissions(RECORD_PERMISSION_NAMES, nullable=True),
    },
    "additionalProperties": False,
}
RECORD_PATCHES = _patches(RECORD_MERGE_PATCH)

# -- responses -------------------------------------------------------------------------------

RECORD: Schema = {
    "type": "object",
    "required": ["id", "data", "last_modified", "created_by"],
    "properties": {
        "id": {"type": "string", "pattern": RECORD_ID},
        "data": {"type": "object"},
        "last_modified": {"type": "integer", "description": "Epoch milliseconds; the ETag."},
        "created_by": {"type": ["string", "null"]},
        "permissions": {**RECORD_PERMISSIONS, "description": "Shown to those who may write."},
        "search": {
            "type": "object",
            "description": "In a list searched with _q: the record's relevance, and with "
            "_highlight=1 where the searched words appear.",
            "required": ["rank"],
            "properties": {
                "rank": {
                    "type": "number",
                    "description": "Higher is more relevant. Compare ranks within one answer: "
                    "the scale is the database's own (ts_rank on PostgreSQL, bm25 on SQLite).",
                },
                "highlights": {
                    "type": "object",
                    "description": "Per searchable field where a searched word appears: up to "
                    "two fragments of its text, HTML-escaped, each such word in <mark></mark>, "
                    "'…' where the text was cut.",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
TOMBSTONE: Schema = {
    "type": "object",
    "required": ["id", "last_modified", "deleted"],
    "properties": {
        "id": {"type": "string"},
        "last_modified": {"type": "integer"},
        "deleted": {"const": True},
    },
}
RECORD_LIST: Schema = {
    "type": "object",
    "required": ["data", "next"],
    "properties": {
        "data": {
            "type": "array",
            "description": "Records (with _fields, their data holds those fields only); with "
            "_since or _before, tombstones of deleted records too.",
            "items": {"anyOf": [RECORD, TOMBSTONE]},
        },
        "next": {"type": ["string", "null"], "description": "URL of the next page."},
        "total": {"type": "integer", "description": "With _count=true: matching records."},
    },
}
COLLECTION: Schema = {
    "type": "object",
    "required": [
        "id",
        "title",
        "description",
        "schema",
        "indexed_fields",
        "searchable_fields",
        "search_language",
        "created_by",
        "created_at",
        "updated_at",
        "last_modified",
        "record_count",
    ],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "schema": {"type": ["object", "null"]},
        "indexed_fields": {"type": "array", "items": {"type": "string"}},
        "searchable_fields": {"type": "array", "items": {"type": "string"}},
        "search_language": {"type": "string"},
        "permissions": {**COLLECTION_PERMISSIONS, "description": "Shown to those who may write."},
        "created_by": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "last_modified": {
            "type": "integer",
            "description": "The collection's version: epoch milliseconds of its latest change or "
            "of its records'.",
        },
        "record_count": {
            "type": ["integer", "null"],
            "description": "Live records; null unless you may read every record of the "
            "collection (a count of records you may not read would leak).",
        },
    },
}
_ERRORS: Schema = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"pointer": {"type": "string"}, "message": {"type": "string"}},
    },
}
DRY_RUN_REPORT: Schema = {
    "type": "object",
    "required": ["dry_run", "valid", "checked", "failed", "failures", "truncated"],
    "properties": {
        "dry_run": {"const": True},
        "valid": {"type": "boolean", "description": "Every existing record passes."},
        "checked": {"type": "integer"},
        "failed": {"type": "integer"},
        "failures": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "errors": _ERRORS},
            },
        },
        "truncated": {"type": "boolean", "description": "More failures than are listed."},
    },
}
HISTORY_ENTRY: Schema = {
    "type": "object",
    "required": ["id", "timestamp", "action", "resource", "record_id", "user_id"],
    "properties": {
        "id": {"type": "integer"},
        "timestamp": {"type": "integer", "description": "The change's last_modified."},
        "action": {"enum": ["create", "update", "delete"]},
        "resource": {"enum": ["collection", "record"]},
        "record_id": {"type": ["string", "null"]},
        "user_id": {"type": ["string", "null"]},
        "data": {"type": ["object", "null"]},
        "previous": {"type": ["object", "null"]},
    },
}
# -- parameters ------------------------------------------------------------------------------

IF_MATCH = Parameter(
    "If-Match", "header", description='Only if the current ETag is one of these (or "*").'
)
IF_NONE_MATCH_PUT = Parameter(
    "If-None-Match", "header", description='"*": create only; 412 when it exists.'
)
IF_NONE_MATCH_GET = Parameter(
    "If-None-Match", "header", description="304 Not Modified when the ETag is one of these."
)
DRY_RUN = Parameter(
    "dry_run",
    "query",
    {"type": "string", "enum": ["true", "false"]},
    "true: check which existing records would fail the resulting schema; store nothing.",
)
# The record list's reserved query parameters (filters are documented in its description).
RECORD_LIST_PARAMETERS = [
    Parameter(
        "_sort",
        schema={"type": "string", "x-benben-sortable": ["id", "last_modified", "_rank"]},
        description="Sort keys, '-' for descending: -price,name (id, last_modified or any data "
        "field; default -last_modified; -_rank: most relevant first, with _q).",
    ),
    Parameter(
        "_q",
        schema={"type": "string", "minLength": 1, "maxLength": 1000},
        description="Full-text search of the collection's searchable_fields: words (all of "
        'them), "quoted phrases", or between alternatives, -word to exclude (PostgreSQL\'s '
        "websearch_to_tsquery syntax). Each record gets search.rank.",
    ),
    Parameter(
        "_highlight",
        schema={"type": "string", "enum": ["0", "1"]},
        description="1, with _q: each record gets search.highlights, where the words appear.",
    ),
    Parameter("_fields", description="Data members to return: title,price."),
    Parameter("_limit", schema={"type": "string", "pattern": "^[0-9]+$"}, description="Page size."),
    Parameter("_cursor", description="From the previous page's next link."),
    Parameter(
        "_count",
        schema={"type": "string", "enum": ["true", "false"]},
        description="true: add `total` and the `Total-Records` header (matching records).",
    ),
    Parameter(
        "_since",
        schema={"type": "string"},
        description="Changes after this last_modified (tombstones included).",
    ),
    Parameter(
        "_before",
        schema={"type": "string"},
        description="Changes before this last_modified (tombstones included).",
    ),
    IF_NONE_MATCH_GET,
]
