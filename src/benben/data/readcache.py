"""Hot reads of the data API from memory, keyed by the collection's version.

Every change to a collection or its records bumps the collection's ``last_modified`` (see
:mod:`.storage`), so that number is the version of everything in it.  After the transaction
commits, the new version is announced on the :class:`~benben.cache.versions.VersionBoard` (every
instance sharing Redis hears of it); reads look up, without a round trip:

- the collection (its ACL included) as a :class:`CollectionSnapshot`, valid while its
  ``last_modified`` is at least the board's current version;
- a record (and its ACL facts) and its rendered JSON, under ``(collection, version, record)``;
- a rendered list page under ``(collection, version, URL, caller's principals)``.

Used by reads, and by record writes for what they replace (their commit checks it, see
:mod:`.storage`). Never used: for other unsafe methods (collection writes lock and read the
database), inside a batch (its own uncommitted writes must be visible to it), with
``Cache-Control: no-cache``, while the board is not trusted (Redis subscription down: every read
goes to the database), and never filled from a read that began before the board last forgot what
it knew. A rolled-back transaction announces nothing, so it cannot poison a version a later
commit reuses: writes announce through :mod:`.announce`, whose announcer this module provides
(:class:`ReadCacheAnnouncer`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from pyramid.request import Request

from benben.cache import version_board
from benben.cache.process_cache import ProcessCache
from benben.cache.versions import VersionBoard
from benben.data.records import load_record
from benben.data.snapshots import CollectionSnapshot, RecordSnapshot
from benben.data.storage import load_collection

__all__ = [
    "IN_BATCH_ENVIRON_KEY",
    "NEAR_CACHE_KEY",
    "ReadCacheAnnouncer",
    "cached_page",
    "read_collection",
    "read_record",
    "store_page",
    "usable",
]

NEAR_CACHE_KEY = "benben.data.near_cache"
IN_BATCH_ENVIRON_KEY = "benben.data.in_batch"
_READS = frozenset({"GET", "HEAD"})
_READ_HERE_ENVIRON_KEY = "benben.data.snapshot_read_here"
_ABSENT = object()  # cached: no such record at this version


def _near(request: Request) -> ProcessCache | None:
    return request.registry.get(NEAR_CACHE_KEY)


def _board(request: Request) -> VersionBoard:
    return version_board(request.registry)


def usable(request: Request, *, writing: bool = False) -> bool:
    """Whether this request may be answered from (and fill) the near cache; ``writing``: a
    record write, which checks what it read when it writes (see storage)."""
    return (
        (writing or request.method in _READS)
        and _near(request) is not None
        and IN_BATCH_ENVIRON_KEY not in request.environ
        # The environ, not WebOb's header view (which translates the name on every read).
        and "no-cache" not in request.environ.get("HTTP_CACHE_CONTROL", "")
    )


def read_collection(
    request: Request, collection_id: str, *, writing: bool = False
) -> CollectionSnapshot | None:
    """The collection for a read, or for a record write (``writing``): from the near cache when
    it holds the current version, else read (without a lock) from the database."""
    near = _near(request)
    if near is None or not usable(request, writing=writing):
        collection = load_collection(request.dbsession, collection_id)
        return None if collection is None else CollectionSnapshot.of(collection)
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


def read_record(
    request: Request, collection: CollectionSnapshot, record_id: str, *, writing: bool = False
) -> RecordSnapshot | None:
    """The record (or tombstone) for a read, or for a record write (``writing``), cached under
    the collection's version."""
    near = _near(request)
    if near is None or not usable(request, writing=writing):
        return load_record(request.dbsession, collection.id, record_id)
    key: Hashable = ("r", collection.id, collection.last_modified, record_id)
    found = near.get(key)
    if found is not None:
        return None if found is _ABSENT else found
    board = _board(request)
    generation = board.generation
    snapshot = load_record(request.dbsession, collection.id, record_id)
    if _may_fill(request, collection.id, board, generation):
        near.set(key, _ABSENT if snapshot is None else snapshot)
    return snapshot


# What a page's absolute URLs (its next link) are made of: the same values give the same URL,
# read without building it (``request.path_url`` quotes and joins them on every read).
_URL_ENVIRON_KEYS = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME",
                     "PATH_INFO")  # fmt: skip


def page_key(
    request: Request, collection: CollectionSnapshot, principals: frozenset[str]
) -> Hashable:
    """The page's key: the collection's version, the URL and the caller's principals.  The
    query's parameters in the order given: a page found under it was answered to that very
    query, which its view then need not parse again (see :func:`cached_page`)."""
    environ = request.environ
    url = tuple(environ.get(name) for name in _URL_ENVIRON_KEYS)
    params = tuple(request.GET.items())
    return ("l", collection.id, collection.last_modified, url, params, principals)


def cached_page(
    request: Request, collection: CollectionSnapshot, principals: frozenset[str]
) -> Any:
    """What :func:`store_page` kept for this page at the collection's version, or None."""
    near = _near(request)
    return None if near is None else near.get(page_key(request, collection, principals))


def store_page(
    request: Request,
    collection: CollectionSnapshot,
    principals: frozenset[str],
    page: Any,
    generation: int,
) -> None:
    """Keep ``page`` (the view's rendered answer and what it needs to answer it again) under the
    collection's version, unless what this request read may not be cached (:func:`_may_fill`)."""
    near = _near(request)
    if near is None:
        return
    board = _board(request)
    if _may_fill(request, collection.id, board, generation):
        near.set(page_key(request, collection, principals), page)


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


class ReadCacheAnnouncer:
    """The data API's :class:`~benben.data.announce.Announcer`: committed versions go on the
    version board (every instance hears of them), their snapshots into this process's cache."""

    def committed(
        self,
        request: Request,
        versions: dict[str, int],
        successors: Iterable[CollectionSnapshot] = (),
    ) -> None:
        board = _board(request)
        near = _near(request)
        # The snapshots first: a reader that sees the new version on the board then finds them
        # (one newer than the board is served too), rather than reading the database meanwhile.
        if near is not None and board.trusted:
            for snapshot in successors:
                if snapshot.last_modified != versions.get(snapshot.id):
                    continue
                # Concurrent writers' announcements arrive in any order: keep the newest.
                cached = near.peek(("c", snapshot.id))  # not a read: kept out of the metrics
                if cached is None or cached.last_modified < snapshot.last_modified:
                    near.set(("c", snapshot.id), snapshot)
        board.announce(versions)

    def outdated(self, request: Request, collection_id: str) -> None:
        """Drop this process's snapshot of a collection (found outdated by a writer)."""
        near = _near(request)
        if near is not None:
            near.delete(("c", collection_id))
