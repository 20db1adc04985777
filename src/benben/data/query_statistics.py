"""PostgreSQL's statistics of the records table, refreshed when a slow page shows them stale.

PostgreSQL picks between walking a declared field's index and sorting every match from what its
statistics say about the collection.  Records written after the table was last analyzed (a bulk
import, a new collection growing inside a large table) are unknown to them, and autovacuum only
analyzes the table again once a tenth of it has changed: on a large table, possibly never for
that collection.  Meanwhile the planner takes the collection for a small one and sorts all of
it: ``_sort=-price`` read and sorted 100,000 records (100-280 ms) instead of reading 101
(0.1-0.3 ms).

So a page that took longer than :data:`SLOW_PAGE_SECONDS` asks the planner how many records it
expects in the collection, and compares that with the count the collection keeps
(``record_count``).  Off by more than :data:`STALE_FACTOR`, the table is analyzed, in the
request's transaction: the next requests are planned on what the table holds.  Pages on
indexed shapes take a few milliseconds, so only pages that are slow already pay for the check
(two short statements); one request at a time analyzes (an advisory lock), the others go on.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import literal_column, not_, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from benben.data.indexes import analyze_records
from benben.data.jsonkeys import collection_is
from benben.data.models import Collection, Record

__all__ = [
    "MIN_RECORDS",
    "SLOW_PAGE_SECONDS",
    "STALE_FACTOR",
    "refresh_if_stale",
    "statistics_stale",
]

# Far above an indexed page (under a millisecond in the database), well below a sort of a
# collection of 100,000 records.
SLOW_PAGE_SECONDS = 0.05
STALE_FACTOR = 2
# Below this, a sort of the whole collection costs little whatever the plan.
MIN_RECORDS = 1000
# pg_try_advisory_xact_lock's key: one ANALYZE of the records table at a time.
_ANALYZE_LOCK = 0x62656E62656E_01  # "benben", 1

log = logging.getLogger(__name__)


def statistics_stale(session: Session, collection_id: str) -> bool:
    """Whether PostgreSQL's estimate of the collection's live records is off by more than
    STALE_FACTOR from the count the collection keeps (collections under MIN_RECORDS never
    are)."""
    count = session.execute(
        select(Collection.record_count).where(Collection.id == collection_id)
    ).scalar()
    if count is None or count < MIN_RECORDS:
        return False
    return _estimated_records(session, collection_id) * STALE_FACTOR < count


def _estimated_records(session: Session, collection_id: str) -> float:
    table = Record.__table__
    query = select(literal_column("1")).where(
        collection_is(table, collection_id), not_(table.c.deleted)
    )
    # The collection id is a validated literal (collection_is), as the partial indexes have it.
    sql = str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    (plan,) = session.execute(text("EXPLAIN (FORMAT JSON) " + sql)).scalar_one()
    estimate: Any = plan["Plan"]["Plan Rows"]
    return float(estimate)


def refresh_if_stale(session: Session, collection_id: str) -> bool:
    """Analyze the records table if its statistics are stale for the collection and no other
    request is analyzing it; whether it was analyzed.  PostgreSQL only.

    In a savepoint, and never an error for the request: a page read from a hot-standby replica
    (``benben.database.read_url``) cannot analyze there, a statement timeout may cut it short;
    the page it follows was read already, and the primary's own pages will refresh them."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    try:
        with session.begin_nested():
            if not statistics_stale(session, collection_id):
                return False
            lock = text("SELECT pg_try_advisory_xact_lock(:key)")
            if not session.execute(lock, {"key": _ANALYZE_LOCK}).scalar_one():
                return False
            analyze_records(session)
            return True
    except DBAPIError as exc:
        log.warning(
            "could not refresh the records table's statistics (%s: %s)",
            type(exc.orig).__name__, exc.orig,
        )  # fmt: skip
        return False
