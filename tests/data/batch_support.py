"""Helpers of the batch tests."""

from __future__ import annotations

from typing import Any

from data_support import COLLECTIONS, record_url

BATCH = "/api/v1/batch"
PRODUCT = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "price": {"type": "number", "minimum": 0}},
}


def put(cid: str, rid: str, data: Any, **extra: Any) -> dict[str, Any]:
    """A batch operation: PUT of a record with ``data``."""
    return {"method": "PUT", "path": record_url(cid, rid), "body": {"data": data}, **extra}


def get(path: str, **extra: Any) -> dict[str, Any]:
    return {"method": "GET", "path": path, **extra}


def history(app: Any, user: Any, cid: str = "notes") -> list[tuple[str, str, str | None]]:
    """``(resource, action, record_id)`` of a collection's history, newest first."""
    entries = app.get(f"{COLLECTIONS}/{cid}/history", headers=user.headers).json["data"]
    return [(e["resource"], e["action"], e["record_id"]) for e in entries]
