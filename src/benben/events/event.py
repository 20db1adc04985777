"""What the change feed carries: an :class:`Event` at a :class:`FeedPosition`.

An event's JSON (:meth:`Event.payload`) is what webhooks send and ``GET /api/v1/events`` lists::

    {"id": "812-40", "type": "record.created", "timestamp": "2026-12-07T10:00:00.123Z",
     "actor": "<user id or null>",
     "data": {"collection": "tasks", "id": "<record id>", "last_modified": 1765101600123,
              "data": {...}, "permissions": {...}}}

``type`` is stable (``EVENT_TYPES`` lists core's; plugins publish their own, named
``<plugin>.<what>``).  ``data`` holds the ids the event is about and what a receiver needs
without calling back: the new values (none for a deletion).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "COLLECTION_EVENTS",
    "EVENT_TYPES",
    "RECORD_EVENTS",
    "START",
    "Event",
    "FeedGapError",
    "FeedPosition",
    "check_event_type",
    "type_matches",
]

RECORD_EVENTS = ("record.created", "record.updated", "record.deleted")
COLLECTION_EVENTS = (
    "collection.created",
    "collection.updated",
    "collection.deleted",
    "collection.permissions_changed",
)
EVENT_TYPES: tuple[str, ...] = (
    *COLLECTION_EVENTS,
    *RECORD_EVENTS,
    "record.permissions_changed",
    "user.created",
    "user.updated",
    "user.deactivated",
    "user.deleted",
    "group.created",
    "group.updated",
    "group.deleted",
    "group.member_added",
    "group.member_removed",
    # Scheduled backups (benben.backup.schedule): about no collection, for administrators.
    "backup.completed",
    "backup.failed",
)

_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")


def check_event_type(name: str) -> str:
    """``name`` if it is a valid event type (``area.what``, lower case); ValueError if not."""
    if not isinstance(name, str) or len(name) > 64 or not _TYPE.fullmatch(name):
        raise ValueError(
            f"invalid event type {name!r}: dotted lower-case words, like 'record.created' "
            "(at most 64 characters)"
        )
    return name


def type_matches(pattern: str, event_type: str) -> bool:
    """``*`` matches every type, ``record.*`` every type under ``record.``, else exactly."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


@dataclass(frozen=True, order=True)
class FeedPosition:
    """Where an event sits in the feed: ``(tx, id)``, compared in that order.  Shown to clients
    as the cursor ``"<tx>-<id>"``; ``START`` (``0-0``) is before every event."""

    tx: int
    id: int

    def __str__(self) -> str:
        return f"{self.tx}-{self.id}"

    @classmethod
    def parse(cls, text: str) -> FeedPosition:
        """ValueError unless ``text`` is a cursor this feed gave out."""
        tx, sep, event_id = str(text).partition("-")
        if not sep or not tx.isdigit() or not event_id.isdigit() or len(text) > 41:
            raise ValueError(f"not a feed position: {text!r} (expected '<tx>-<id>')")
        return cls(int(tx), int(event_id))


START = FeedPosition(0, 0)


class FeedGapError(Exception):
    """Retention deleted events after this reader's position: it missed some for good and must
    resynchronise (read the current state) before reading on from ``resume_at``."""

    def __init__(self, position: FeedPosition, pruned_through: FeedPosition) -> None:
        super().__init__(
            f"the feed was pruned through {pruned_through}, after position {position}: "
            "events were lost to retention"
        )
        self.position = position
        self.resume_at = pruned_through


@dataclass(frozen=True)
class Event:
    """One committed change.  ``position`` is None for an event heard in process right after its
    commit (its row's position is the database's to give)."""

    type: str
    occurred_at: int  # epoch milliseconds
    actor: str | None = None
    collection_id: str | None = None
    record_id: str | None = None
    last_modified: int | None = None
    data: dict[str, Any] | None = None
    position: FeedPosition | None = field(default=None, compare=False)

    def payload(self) -> dict[str, Any]:
        """The event's documented JSON (see the module's docstring)."""
        body: dict[str, Any] = {}
        if self.collection_id is not None:
            body["collection"] = self.collection_id
        if self.record_id is not None:
            body["id"] = self.record_id
        if self.last_modified is not None:
            body["last_modified"] = self.last_modified
        body.update(self.data or {})
        return {
            "id": str(self.position) if self.position is not None else None,
            "type": self.type,
            "timestamp": _iso_ms(self.occurred_at),
            "actor": self.actor,
            "data": body,
        }


def _iso_ms(milliseconds: int) -> str:
    moment = datetime.datetime.fromtimestamp(milliseconds / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
