"""Who may read what an event is about, *now*: decided when the event is delivered, not when
it happened, so that a permission revoked mid-stream stops the flow at the next event.

For a batch of events, each collection and record is read once (current rows; a deleted record's
tombstone keeps its grants), its ACL built by :mod:`benben.data.acl` — the very rules of ``GET``
— and reduced to the set of principals allowed READ.  A subscriber then may read an event when
its principals meet that set: a set intersection per subscriber, not an ACL walk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pyramid.authorization import Allow
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from benben.data.acl import ACL, collection_acl, grants, record_acl
from benben.data.models import Collection, Record
from benben.events.event import Event
from benben.security.permissions import READ
from benben.security.principals import ADMIN_ROLE

__all__ = ["Readers", "readers_of"]

Key = tuple[str, str | None]  # (collection id, record id or None)
Readers = Mapping[Key, frozenset[str]]

_ADMINS_ONLY = frozenset({ADMIN_ROLE})
_RECORD_COLUMNS = ("collection_id", "id", "permissions", "created_by")


def _read_principals(acl: ACL) -> frozenset[str]:
    return frozenset(ace[1] for ace in acl if ace[0] == Allow and grants(ace, READ))


def readers_of(session: Session, events: Iterable[Event]) -> dict[Key, frozenset[str]]:
    """The principals that may read, now, what each of ``events`` is about."""
    events = [event for event in events if event.collection_id is not None]
    collection_ids = {event.collection_id for event in events}
    collections: dict[str, Any] = (
        {
            row.id: row
            for row in session.scalars(select(Collection).where(Collection.id.in_(collection_ids)))
        }
        if collection_ids
        else {}
    )
    pairs = {(event.collection_id, event.record_id) for event in events if event.record_id}
    records: dict[tuple[str, str], Any] = {}
    if pairs:
        columns = [getattr(Record, name) for name in _RECORD_COLUMNS]
        query = select(*columns).where(tuple_(Record.collection_id, Record.id).in_(list(pairs)))
        for row in session.execute(query):
            records[(row.collection_id, row.id)] = _record(row)
    readers: dict[Key, frozenset[str]] = {}
    for event in events:
        key: Key = (event.collection_id, event.record_id)  # type: ignore[assignment]
        if key in readers:
            continue
        collection = collections.get(event.collection_id) or _former(event)
        if collection is None:
            readers[key] = _ADMINS_ONLY  # gone: only administrators may still see it
        elif event.record_id is None:
            readers[key] = _read_principals(collection_acl(collection))
        else:
            record = records.get(key)  # type: ignore[arg-type]
            if record is None:  # purged: the collection's full readers
                readers[key] = _read_principals(collection_acl(collection))
            else:
                readers[key] = _read_principals(record_acl(collection, record))
    return readers


@dataclass(frozen=True)
class _Grants:
    """What the ACL builders read of a collection or a record: its grants and its creator."""

    permissions: dict[str, list[str]]
    created_by: str | None


def _record(row: Any) -> Any:
    return _Grants(dict(row.permissions or {}), row.created_by)


def _former(event: Event) -> Any:
    """A deleted collection as its deletion event recorded it (who could read it)."""
    if event.type != "collection.deleted" or not event.data:
        return None
    previous = event.data.get("previous") or {}
    return _Grants(dict(previous.get("permissions") or {}), event.data.get("created_by"))
