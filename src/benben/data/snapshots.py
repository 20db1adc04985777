"""Collections and records as read at one version, and the records' JSON.

A snapshot is an immutable copy of a row: the read cache (:mod:`.readcache`) keeps them across
requests, and record writes validate and authorize against one, read without a lock (see
:mod:`.storage`).  The JSON functions take a row or a snapshot alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from benben.data.models import Collection, Record

__all__ = [
    "CollectionSnapshot",
    "RecordSnapshot",
    "record_body",
    "record_json",
    "render_json",
    "successor",
    "tombstone_json",
]


def _collection_columns() -> tuple[str, ...]:
    return tuple(column.key for column in Collection.__table__.columns)


@dataclass(frozen=True)
class CollectionSnapshot:
    """A collection row as read at one version: what ACLs, validation and views need of it."""

    id: str
    title: str
    description: str
    schema: dict[str, Any] | None
    indexed_fields: list[str]
    searchable_fields: list[str]
    search_language: str
    permissions: dict[str, list[str]]
    created_by: str | None
    created_at: Any
    updated_at: Any
    last_modified: int
    record_count: int

    @classmethod
    def of(cls, collection: Collection) -> CollectionSnapshot:
        return cls(**{name: getattr(collection, name) for name in _COLLECTION_COLUMNS})


_COLLECTION_COLUMNS = _collection_columns()


@dataclass(frozen=True)
class RecordSnapshot:
    """A record (or its tombstone) as read at one version, with its rendered JSON."""

    collection_id: str
    id: str
    data: dict[str, Any] | None
    permissions: dict[str, list[str]]
    created_by: str | None
    last_modified: int
    deleted: bool
    # Plugins' members of the record's JSON (``add_record_member``), None when there are none.
    members: dict[str, Any] | None = None
    _rendered: dict[bool, bytes] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, record: Record) -> RecordSnapshot:
        return cls(
            collection_id=record.collection_id,
            id=record.id,
            data=record.data,
            permissions=dict(record.permissions or {}),
            created_by=record.created_by,
            last_modified=record.last_modified,
            deleted=record.deleted,
            members=record.members,
        )

    def rendered(self, *, show_permissions: bool) -> bytes:
        """The record's JSON answer, serialized once per variant."""
        body = self._rendered.get(show_permissions)
        if body is None:
            body = render_json(record_json(self, show_permissions=show_permissions))
            self._rendered[show_permissions] = body
        return body


def successor(collection: CollectionSnapshot, row: Any) -> CollectionSnapshot:
    """The snapshot plus a record change: the collection row as its bump left it
    (``row``: its ``last_modified`` and ``record_count``)."""
    return replace(
        collection, last_modified=int(row.last_modified), record_count=int(row.record_count)
    )


def render_json(value: Any) -> bytes:
    # As Pyramid's JSON renderer writes it: an answer is the same bytes, cached or not.
    return json.dumps(value).encode()


def record_body(record: Record | RecordSnapshot | None) -> dict[str, Any] | None:
    """What a client sets (``{"data", "permissions"}``): the body a PATCH applies to."""
    if record is None or record.deleted:
        return None
    return {"data": record.data, "permissions": dict(record.permissions or {})}


def record_json(
    record: Record | RecordSnapshot, *, show_permissions: bool, data: Any = None
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": record.id,
        "data": record.data if data is None else data,
        "last_modified": record.last_modified,
        "created_by": record.created_by,
    }
    if show_permissions:
        result["permissions"] = dict(record.permissions or {})
    if record.members:
        result.update(record.members)
    return result


def tombstone_json(record: Record | RecordSnapshot) -> dict[str, Any]:
    return {"id": record.id, "last_modified": record.last_modified, "deleted": True}
