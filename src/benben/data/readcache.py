"""Hot reads of the data API from memory, keyed by the collection's version.

Every change to a collection or its records bumps the collection's ``last_modified`` (see
:mod:`.storage`), so that number is the version of everything in it.  After the transaction
commits, the new version is announced on the :class:`~benben.cache.versions.VersionBoard` (every
instance sharing Redis hears of it); reads look up, without a round trip:

- the collection (its ACL included) as a :class:`CollectionSnapshot`, valid while its
  ``last_modified`` is at least the board's current version;
- a record (and its ACL facts) and its rendered JSON, under ``(collection, version, record)``;
- a rendered list page under ``(collection, version, URL, caller's principals)``.

Never used: for unsafe methods (writes lock and read the database), inside a batch (its own
uncommitted writes must be visible to it), with ``Cache-Control: no-cache``, while the board is
not trusted (Redis subscription down: every read goes to the database), and never filled from a
read that began before the board last forgot what it knew.  A rolled-back transaction announces
nothing, so it cannot poison a version a later commit reuses.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pyramid.request import Request
from sqlalchemy.orm import Session

from benben.cache import VERSIONS_KEY
from benben.cache.process_cache import ProcessCache
from benben.cache.versions import VersionBoard
from benben.data.models import Collection, Record
from benben.data.records import load_record, record_json
from benben.data.storage import load_collection

__all__ = [
    "IN_BATCH_ENVIRON_KEY",
    "CollectionSnapshot",
    "RecordSnapshot",
    "announce_after_commit",
    "announce_committed",
    "cached_page",
    "forget_collection",
    "read_collection",
    "read_record",
    "store_page",
]

NEAR_CACHE_KEY = "benben.data.near_cache"
IN_BATCH_ENVIRON_KEY = "benben.data.in_batch"
_ANNOUNCE_KEY = "benben.data.announce"  # on the session's info: versions this transaction made
_SUCCESSORS_KEY = "benben.data.successors"  # ...and the collections' snapshots, when known
_READS = frozenset({"GET", "HEAD"})
_READ_HERE_ENVIRON_KEY = "benben.data.snapshot_read_here"


def _collection_columns() -> tuple[str, ...]:
    return tuple(column.key for column in Collection.__table__.columns)


@dataclass(frozen=True)
class CollectionSnapshot:
    """A collection row as read at one version: what ACLs and the read views need of it."""

    id: str
    title: str
    description: str
    schema: dict[str, Any] | None
    indexed_fields: list[str]
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
        )

    def rendered(self, *, show_permissions: bool) -> bytes:
        """The record's JSON answer, serialized once per variant."""
        body = self._rendered.get(show_permissions)
        if body is None:
            body = render_json(record_json(self, show_permissions=show_permissions))  # type: ignore[arg-type]
            self._rendered[show_permissions] = body
        return body


_ABSENT = object()  # cached: no such record at this version


def render_json(value: Any) -> bytes:
    # As Pyramid's JSON renderer writes it: an answer is the same bytes, cached or not.
    return json.dumps(value).encode()


def _near(request: Request) -> ProcessCache | None:
    return request.registry.get(NEAR_CACHE_KEY)


def _board(request: Request) -> VersionBoard:
    return request.registry[VERSIONS_KEY]


def usable(request: Request, *, creating: bool = False) -> bool:
    """Whether this request may be answered from (and fill) the near cache; ``creating``: a
    record creation, which checks what it read when it takes the lock (see storage.bump)."""
    return (
        (creating or request.method in _READS)
        and _near(request) is not None
        and IN_BATCH_ENVIRON_KEY not in request.environ
        and "no-cache" not in request.headers.get("Cache-Control", "")
    )


def read_collection(
    request: Request, collection_id: str, *, creating: bool = False
) -> Collection | CollectionSnapshot | None:
    """The collection for a read: from the near cache when it holds the current version."""
    near = _near(request)
    if near is None or not usable(request, creating=creating):
        return load_collection(request.dbsession, collection_id, lock=creating)
    board = _board(request)
    current = board.current(collection_id)
    if current is not None:
        found = near.get(("c", collection_id))
        # Newer than the board is fine: a snapshot is only ever of a committed version, and
        # this process's own commits are cached a moment before the board has taken them in.
        if found is not None and found.last_modified >= current:
            return found
    generation = board.generation
    collection = load_collection(request.dbsession, collection_id)
    if collection is None:
        return None
    snapshot = CollectionSnapshot.of(collection)
    request.environ[_READ_HERE_ENVIRON_KEY] = collection_id
    if board.trusted and board.generation == generation:
        board.learn({collection_id: snapshot.last_modified})
        near.set(("c", collection_id), snapshot)
    return snapshot


def forget_collection(request: Request, collection_id: str) -> None:
    """Drop this process's snapshot of a collection (found outdated by a writer)."""
    near = _near(request)
    if near is not None:
        near.delete(("c", collection_id))


def read_record(
    request: Request, collection: Collection | CollectionSnapshot, record_id: str
) -> Record | RecordSnapshot | None:
    """The record (or tombstone) for a read, cached under the collection's version."""
    near = _near(request)
    if near is None or not isinstance(collection, CollectionSnapshot):
        return load_record(request.dbsession, collection.id, record_id)
    key: Hashable = ("r", collection.id, collection.last_modified, record_id)
    found = near.get(key)
    if found is not None:
        return None if found is _ABSENT else found
    board = _board(request)
    generation = board.generation
    record = load_record(request.dbsession, collection.id, record_id)
    snapshot = RecordSnapshot.of(record) if record is not None else None
    if _may_fill(request, collection.id, board, generation):
        near.set(key, _ABSENT if snapshot is None else snapshot)
    return snapshot


def page_key(
    request: Request, collection: CollectionSnapshot, principals: frozenset[str]
) -> Hashable:
    params = tuple(sorted(request.GET.items()))
    return ("l", collection.id, collection.last_modified, request.path_url, params, principals)


def cached_page(request: Request, collection: Any, principals: frozenset[str]) -> Any:
    """``(body, headers)`` of a list page cached at the collection's version, or None."""
    near = _near(request)
    if near is None or not isinstance(collection, CollectionSnapshot):
        return None
    return near.get(page_key(request, collection, principals))


def store_page(
    request: Request,
    collection: Any,
    principals: frozenset[str],
    body: bytes,
    headers: dict[str, str],
    generation: int,
) -> None:
    near = _near(request)
    board = _board(request)
    if near is None or not isinstance(collection, CollectionSnapshot):
        return
    if _may_fill(request, collection.id, board, generation):
        near.set(page_key(request, collection, principals), (body, headers))


def _may_fill(request: Request, collection_id: str, board: VersionBoard, generation: int) -> bool:
    """Whether what this request read may be cached under its collection snapshot's version.

    With a read replica, reads may come from one that lags behind the version a snapshot taken
    from memory names (several replicas behind one URL do not even lag alike): only what was
    read together with the snapshot, in this request's transaction, is known to be that fresh.
    """
    if not (board.trusted and board.generation == generation):
        return False
    if request.registry.settings.get("benben.database.read_url"):
        return request.environ.get(_READ_HERE_ENVIRON_KEY) == collection_id
    return True


def announce_after_commit(
    request: Request,
    session: Session,
    collection_id: str,
    version: int,
    successor: CollectionSnapshot | None = None,
) -> None:
    """Tell every instance of ``collection_id``'s new version once the transaction commits (a
    rollback announces nothing).  One hook per transaction, whatever it changed.  ``successor``:
    the collection as committed, known without reading it (a record creation), cached here."""
    pending: dict[str, int] | None = session.info.get(_ANNOUNCE_KEY)
    successors: dict[str, CollectionSnapshot] = session.info.setdefault(_SUCCESSORS_KEY, {})
    if pending is None:
        pending = session.info[_ANNOUNCE_KEY] = {}

        def announce(committed: bool) -> None:
            versions = session.info.pop(_ANNOUNCE_KEY, None) or {}
            known = session.info.pop(_SUCCESSORS_KEY, None) or {}
            if committed and versions:
                announce_committed(request, versions, known.values())

        request.tm.get().addAfterCommitHook(announce)
    pending[collection_id] = max(version, pending.get(collection_id, 0))
    if successor is not None:
        successors[collection_id] = successor
    else:
        successors.pop(collection_id, None)  # changed otherwise too: read it again


def announce_committed(
    request: Request, versions: dict[str, int], successors: Iterable[CollectionSnapshot] = ()
) -> None:
    """Announce versions already committed (see :func:`announce_after_commit`); cache the
    ``successors`` (collections as committed at those versions) here."""
    board = _board(request)
    near = _near(request)
    # The snapshots first: a reader that sees the new version on the board then finds them (one
    # newer than the board is served too), rather than reading the database meanwhile.
    if near is not None and board.trusted:
        for snapshot in successors:
            if snapshot.last_modified != versions.get(snapshot.id):
                continue
            # Concurrent writers' announcements arrive in any order: keep the newest.
            cached = near.peek(("c", snapshot.id))  # not a read: kept out of the metrics
            if cached is None or cached.last_modified < snapshot.last_modified:
                near.set(("c", snapshot.id), snapshot)
    board.announce(versions)
