"""What plugins add to records and their routes: members of a record's JSON written with the
record (``add_record_member``, :func:`set_record_member`), and the data API's context factories
for routes under a collection or a record (:class:`RecordContext`, :class:`CollectionContext`).

A member lives in the record's row (``members``), so that the record's ``last_modified``, ETag,
read caches, ``_since`` syncs, history and change feed all cover it, and reading a record costs
no more with plugins than without.  A replace (``PUT``/``PATCH``) keeps the members; deleting the
record drops them with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from benben.data.models import Collection, Record
from benben.data.records import change_members
from benben.data.resources import CollectionResource, RecordResource
from benben.data.snapshots import RecordSnapshot

__all__ = [
    "CORE_MEMBERS",
    "CollectionContext",
    "RecordContext",
    "add_record_member",
    "live_collections",
    "live_records",
    "record_member",
    "record_members",
    "set_record_member",
]

# A record's JSON as core writes it (a tombstone's included): no plugin may take these names.
CORE_MEMBERS = frozenset({"id", "data", "last_modified", "created_by", "permissions", "deleted"})
MEMBERS_KEY = "benben.data.record_members"


class RecordContext(RecordResource):
    """The context of a route under a record (``.../records/{rid}/...``): the record's own
    ``__acl__`` (READ for its readers, WRITE for its writers, CHANGE_PERMISSIONS for its creator
    and the collection's admins), 404 for a record the caller may not see, and for a missing one
    on every method (a PUT here does not create the record).  ``.collection``, ``.record`` (the
    live record, a snapshot with ``.members``), ``.principals``."""

    creates_on_put = False


class CollectionContext(CollectionResource):
    """The context of a route under a collection (``.../collections/{cid}/...``): the
    collection's ``__acl__``, 404 when the caller may not see it; a PUT does not create it.
    ``.collection`` is locked (read ``FOR UPDATE``) for a request that is not GET or HEAD."""

    creates_on_put = False


def add_record_member(config: Configurator, name: str, schema: dict[str, Any]) -> None:
    """Reserve the member ``name`` of every record's JSON for the plugin including this; its
    value is set by :func:`set_record_member` and documented by ``schema``."""
    if not isinstance(name, str) or not name or name in CORE_MEMBERS or name.startswith("_"):
        raise ConfigurationError(
            f"add_record_member: {name!r} cannot be a record member (taken by core, empty, or "
            "starting with '_')"
        )
    registry = config.registry

    def register() -> None:
        registry.setdefault(MEMBERS_KEY, {})[name] = dict(schema)

    intr = config.introspectable("benben record members", name, name, "benben record member")
    intr.update(name=name, schema=dict(schema))
    config.action(("benben.record_member", name), register, introspectables=(intr,))


def record_members(registry: Any) -> dict[str, dict[str, Any]]:
    """The members plugins registered, by name: their schemas."""
    members: dict[str, dict[str, Any]] = registry.get(MEMBERS_KEY, {})
    return members


def record_member(record: Any, name: str) -> Any:
    """The member ``name`` of ``record`` (a snapshot or a row), None when it has none."""
    return (getattr(record, "members", None) or {}).get(name)


def set_record_member(
    request: Request, context: RecordContext, name: str, value: Any
) -> RecordSnapshot:
    """Set the member ``name`` of the context's record to ``value`` (None: remove it) in the
    request's transaction: a change of the record (new ``last_modified``, the collection's version
    bumped, history entry, ``record.updated`` event).  When the record changed since the context
    read it, the request is replayed from the start, as any record write's.  The record as
    written."""
    if name not in record_members(request.registry):
        raise ValueError(f"{name!r} is not a record member (config.add_record_member)")
    record, collection = context.record, context.collection
    if record is None or collection is None:
        raise ValueError("set_record_member: the context has no live record")
    members = dict(record.members or {})
    if value is None:
        members.pop(name, None)
    else:
        members[name] = value
    written = change_members(request, collection, record, members)
    context.record = written
    return written


def live_records(session: Session, collection_id: str, record_ids: Iterable[str]) -> set[str]:
    """Which of ``record_ids`` are live records of the collection (not deleted, not gone with
    their collection): for a plugin's clean-up of what it keeps per record."""
    ids = list(dict.fromkeys(record_ids))
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        rows = session.execute(
            select(Record.id).where(
                Record.collection_id == collection_id,
                Record.id.in_(batch),
                Record.deleted.is_(False),
            )
        )
        found.update(row.id for row in rows)
    return found


def live_collections(session: Session, collection_ids: Iterable[str]) -> set[str]:
    """Which of ``collection_ids`` exist: for a plugin's clean-up of what it keeps per
    collection."""
    ids = list(dict.fromkeys(collection_ids))
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        rows = session.execute(select(Collection.id).where(Collection.id.in_(batch)))
        found.update(row.id for row in rows)
    return found
