"""Read replica: reads of safe requests go to ``benben.database.read_url``, writes never do.

``request.dbsession`` stays the one session API. It is a :class:`RoutingSession`; for a GET, HEAD
or OPTIONS request with a replica configured, each statement picks its engine:

- the primary for anything that writes or may: an ORM flush, ``INSERT``/``UPDATE``/``DELETE``
  (Core or ORM bulk), a ``SELECT`` wrapping such a statement in a CTE, ``SELECT ... FOR UPDATE``
  (a lock means a write is coming), ``text()`` (opaque SQL), and ``session.connection()``;
- the replica for plain ``SELECT``s (queries, ``session.get``, lazy loads, refreshes).

The first statement sent to the primary makes the session stick to it for the rest of the
request, so a request reads its own writes. Code that must read the primary before it writes
(a read-modify-write in a GET) calls :func:`use_primary` first. Requests of other methods, and
scripted requests (``pyramid.scripting.prepare``: the ``benben`` commands), never touch the
replica.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import CompoundSelect, Select

__all__ = ["REPLICA_ENGINE_KEY", "RoutingSession", "use_primary"]

REPLICA_ENGINE_KEY = "benben.db.replica_engine"


def _reads_only(clause: Any) -> bool:
    """Whether ``clause`` is a SELECT that can neither write nor lock rows."""
    if not isinstance(clause, Select | CompoundSelect):
        return False  # text(), DML, DDL, or nothing to judge by: the primary
    if clause._for_update_arg is not None:
        return False
    # A data-modifying CTE (WITH x AS (INSERT ... RETURNING ...) SELECT ...) may hide anywhere.
    return not any(isinstance(element, UpdateBase) for element in visitors.iterate(clause))


class RoutingSession(Session):
    """A session that may read from a replica; without one it is a plain :class:`Session`."""

    def __init__(self, *args: Any, replica: Engine | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replica = replica
        self._primary_only = replica is None

    def use_primary(self) -> None:
        """Send every later statement of this session to the primary."""
        self._primary_only = True

    def get_bind(
        self, mapper: Any = None, *, clause: Any = None, bind: Any = None, **kwargs: Any
    ) -> Engine | Connection:
        primary = super().get_bind(mapper, clause=clause, bind=bind, **kwargs)
        if self._primary_only or self.replica is None or bind is not None:
            return primary
        if self._flushing:
            self._primary_only = True
            return primary
        if clause is None:
            # No statement: a caller asking which database this is (its dialect). A connection
            # taken to run something goes through connection(), which sticks to the primary.
            return primary
        if not _reads_only(clause):
            self._primary_only = True
            return primary
        return self.replica

    def connection(self, *args: Any, **kwargs: Any) -> Connection:
        # A connection asked for by hand may run anything: it is the primary's from now on.
        self._primary_only = True
        return super().connection(*args, **kwargs)


def use_primary(session: Session) -> None:
    """Read (and write) the primary for the rest of ``session``: before a read whose result a
    GET will write back, so that it cannot be a replica's stale value."""
    if isinstance(session, RoutingSession):
        session.use_primary()
