"""JSON Schemas of the files API: an attachment (the record's ``attachments`` member and the
upload's answer), the deletion's answer, and a collection's attachment policy (its ``PUT`` body,
enforced before the view runs, and its answer).  Rules a schema cannot say (a policy's
``max_file_size`` under the instance's, thumbnail sizes, the policy's own JSON Schema) are
checked by :mod:`.policy`."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ATTACHMENT",
    "ATTACHMENTS_MEMBER",
    "DELETED",
    "MAX_ALLOWED_TYPES",
    "MAX_THUMBNAIL_SIZES",
    "MEDIA_PATTERN",
    "POLICY",
    "POLICY_UPDATE",
    "THUMBNAIL_SIZE",
]

MAX_ALLOWED_TYPES = 100
MAX_THUMBNAIL_SIZES = 10
# A media type or a pattern of them: `image/png`, `image/*`, `*/*` (RFC 6838 names, lower case).
_TOKEN = "[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"  # noqa: S105 - a pattern, not a password
MEDIA_PATTERN = rf"^(\*/\*|{_TOKEN}/(\*|{_TOKEN}))$"
# `WxH` cropped to fill, `WxHf` fitted inside, `Wx0`/`0xH` keeping the aspect ratio.
THUMBNAIL_SIZE = r"^(0|[1-9][0-9]{0,3})x(0|[1-9][0-9]{0,3})f?$"

_HREF = {
    "type": "string",
    "description": "The path to download it from (`GET`), relative to the instance's URL so "
    "that stored records survive a change of the public URL.",
    "examples": ["/api/v1/collections/books/records/r1/attachments/cover.png"],
}

ATTACHMENT: dict[str, Any] = {
    "title": "Attachment",
    "type": "object",
    "required": ["name", "size", "content_type", "sha256", "last_modified", "href"],
    "properties": {
        "name": {"type": "string", "description": "Unique within the record.", "maxLength": 255},
        "size": {"type": "integer", "minimum": 0, "description": "Bytes."},
        "content_type": {
            "type": "string",
            "description": "The media type sniffed from the content (not the declared one): "
            "what downloads are served as.",
        },
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "last_modified": {
            "type": "integer",
            "description": "When the attachment was written, epoch milliseconds.",
        },
        "href": _HREF,
        "thumbnails": {
            "type": "object",
            "description": "Images, with thumbnails on: the path of each size's thumbnail "
            "(404 until the worker has made it).",
            "additionalProperties": {"type": "string"},
        },
    },
}

ATTACHMENTS_MEMBER: dict[str, Any] = {
    "title": "RecordAttachments",
    "type": "object",
    "description": "The record's attachments by name (absent while it has none), written by "
    "the attachments API (`/records/{rid}/attachments`), never by record writes.",
    "additionalProperties": ATTACHMENT,
}

DELETED: dict[str, Any] = {
    "title": "AttachmentDeleted",
    "type": "object",
    "required": ["name", "deleted", "last_modified"],
    "properties": {
        "name": {"type": "string"},
        "deleted": {"const": True},
        "last_modified": {"type": "integer", "description": "The record's new last_modified."},
    },
}

_MAX_FILE_SIZE = {
    "type": ["integer", "null"],
    "minimum": 1,
    "description": "Largest attachment in bytes, at most the instance's "
    "(`benben.files.max_file_size`). null: the instance's.",
}
_QUOTA = {
    "type": ["integer", "null"],
    "minimum": 0,
    "description": "Bytes the collection's attachments may hold together (0: no quota). "
    "null: `benben.files.collection_quota`.",
}
_ALLOWED_TYPES = {
    "type": ["array", "null"],
    "maxItems": MAX_ALLOWED_TYPES,
    "items": {"type": "string", "pattern": MEDIA_PATTERN},
    "description": "Media types attachments may have, as sniffed from their content "
    "(`image/*`, `application/pdf`); empty: any. null: `benben.files.allowed_types`.",
}
_THUMBNAIL_SIZES = {
    "type": ["array", "null"],
    "maxItems": MAX_THUMBNAIL_SIZES,
    "items": {"type": "string", "pattern": THUMBNAIL_SIZE},
    "description": "Thumbnail sizes of images (`WxH` cropped, `WxHf` fitted, `Wx0`/`0xH` "
    "keeping the aspect ratio; at most 2048 a side), when `benben.files.thumbnails` is on. "
    "null: `benben.files.thumbnail_sizes`.",
}
_SCHEMA = {
    "type": ["object", "null"],
    "description": "A JSON Schema the record's `attachments` object (name -> attachment) must "
    "satisfy after every upload, replacement and deletion. Records are created without files, "
    'so its top-level `required` (and `minProperties`) mean "once attached, may be replaced, '
    'not removed": an upload is checked without them, a deletion they forbid is a 409. '
    "null: no schema.",
    "examples": [
        {
            "required": ["cover"],
            "properties": {
                "cover": {"properties": {"content_type": {"enum": ["image/png", "image/jpeg"]}}}
            },
            "maxProperties": 5,
        }
    ],
}

POLICY_UPDATE: dict[str, Any] = {
    "title": "AttachmentPolicyUpdate",
    "type": "object",
    "description": "The whole policy: a member left out is null (the instance's default).",
    "properties": {
        "max_file_size": _MAX_FILE_SIZE,
        "quota_bytes": _QUOTA,
        "allowed_types": _ALLOWED_TYPES,
        "thumbnail_sizes": _THUMBNAIL_SIZES,
        "schema": _SCHEMA,
    },
    "additionalProperties": False,
}

POLICY: dict[str, Any] = {
    "title": "AttachmentPolicy",
    "type": "object",
    "required": [
        "max_file_size",
        "quota_bytes",
        "allowed_types",
        "thumbnail_sizes",
        "schema",
        "effective",
        "used_bytes",
    ],
    "properties": {
        **POLICY_UPDATE["properties"],
        "effective": {
            "type": "object",
            "description": "The limits that apply: the policy's, the instance's where it has none.",
            "properties": {
                "max_file_size": {"type": "integer"},
                "quota_bytes": {"type": "integer", "description": "0: no quota."},
                "allowed_types": {"type": "array", "items": {"type": "string"}},
                "thumbnails": {"type": "boolean"},
                "thumbnail_sizes": {"type": "array", "items": {"type": "string"}},
            },
        },
        "used_bytes": {
            "type": "integer",
            "description": "Bytes of the collection's attachments now (each counted, even when "
            "identical contents are stored once).",
        },
    },
}
