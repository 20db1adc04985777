"""Retention: tombstones and history entries older than their settings allow are deleted.

Run by ``benben data purge`` (from cron or a systemd timer, daily is plenty); nothing is purged
on the request path, so writes stay cheap.  ``benben.data.tombstone_retention_days`` bounds how
far back a client may sync with ``_since``: one that stayed away longer must re-read the whole
collection.  0 keeps everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from benben.data.models import HistoryEntry, Record
from benben.data.storage import now_ms

__all__ = ["DAY_MS", "purge"]

DAY_MS = 86_400_000


def purge(session: Session, settings: Mapping[str, Any], now: int | None = None) -> dict[str, int]:
    """Delete what retention no longer keeps; ``{"tombstones": n, "history": n}``."""
    now = now_ms() if now is None else now
    counts = {"tombstones": 0, "history": 0}
    tombstone_days = settings["benben.data.tombstone_retention_days"]
    if tombstone_days:
        records = Record.__table__.c
        result = session.execute(
            delete(Record.__table__).where(
                records.deleted.is_(True), records.last_modified < now - tombstone_days * DAY_MS
            )
        )
        counts["tombstones"] = int(result.rowcount or 0)
    history_days = settings["benben.data.history_retention_days"]
    if history_days:
        entries = HistoryEntry.__table__.c
        result = session.execute(
            delete(HistoryEntry.__table__).where(entries.timestamp < now - history_days * DAY_MS)
        )
        counts["history"] = int(result.rowcount or 0)
    return counts
