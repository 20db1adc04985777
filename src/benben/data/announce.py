"""Announcing committed changes: who hears of a collection's new version.

Writes (:mod:`.storage`, :mod:`.records`) note each collection version they make on the
transaction; once it commits (a rollback announces nothing), the registry's
:class:`Announcer` hears of them all at once.  The read cache (:mod:`.readcache`) is the
announcer the data API registers: it tells every instance through the version board.  Writers
so never know who listens, and never import the cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from pyramid.request import Request
from sqlalchemy.orm import Session

from benben.data.snapshots import CollectionSnapshot

__all__ = [
    "Announcer",
    "announce_after_commit",
    "announce_outdated",
    "get_announcer",
    "set_announcer",
]

_ANNOUNCER_KEY = "benben.data.announcer"
_ANNOUNCE_KEY = "benben.data.announce"  # on the session's info: versions this transaction made
_SUCCESSORS_KEY = "benben.data.successors"  # ...and the collections' snapshots, when known


class Announcer(Protocol):
    def committed(
        self,
        request: Request,
        versions: dict[str, int],
        successors: Iterable[CollectionSnapshot],
    ) -> None:
        """``versions`` (collection id -> version) were committed; ``successors``: those
        collections as committed, when known without reading them."""

    def outdated(self, request: Request, collection_id: str) -> None:
        """A writer found what it read of ``collection_id`` outdated (it will read it anew)."""


def set_announcer(registry: Any, announcer: Announcer) -> None:
    registry[_ANNOUNCER_KEY] = announcer


def get_announcer(registry: Any) -> Announcer | None:
    return registry.get(_ANNOUNCER_KEY)


def announce_outdated(request: Request, collection_id: str) -> None:
    announcer = get_announcer(request.registry)
    if announcer is not None:
        announcer.outdated(request, collection_id)


def announce_after_commit(
    request: Request,
    session: Session,
    collection_id: str,
    version: int,
    successor: CollectionSnapshot | None = None,
) -> None:
    """Announce ``collection_id``'s new ``version`` once the transaction commits.  One hook per
    transaction, whatever it changed.  ``successor``: the collection as committed, known without
    reading it (a record write)."""
    pending: dict[str, int] | None = session.info.get(_ANNOUNCE_KEY)
    successors: dict[str, CollectionSnapshot] = session.info.setdefault(_SUCCESSORS_KEY, {})
    if pending is None:
        pending = session.info[_ANNOUNCE_KEY] = {}

        def announce(committed: bool) -> None:
            versions = session.info.pop(_ANNOUNCE_KEY, None) or {}
            known = session.info.pop(_SUCCESSORS_KEY, None) or {}
            announcer = get_announcer(request.registry)
            if committed and versions and announcer is not None:
                announcer.committed(request, versions, known.values())

        request.tm.get().addAfterCommitHook(announce)
    pending[collection_id] = max(version, pending.get(collection_id, 0))
    if successor is not None and pending[collection_id] == successor.last_modified:
        successors[collection_id] = successor
    else:
        successors.pop(collection_id, None)  # changed otherwise too: read it again
