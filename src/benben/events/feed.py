"""The change feed: events written in the transaction of the change, read in order by cursors.

Order without gaps.  An event's position is ``(tx, id)``.  On SQLite one transaction writes at a
time, so ids are handed out in commit order and ``tx`` is 0.  On PostgreSQL an id (a sequence
value) is taken inside the transaction, and transactions commit in any order: a reader at id 41
that saw 42 commit could later see 41's neighbour 40 commit — the classic outbox gap.  So the
row also carries its transaction's id (``pg_current_xact_id()``, a server default), and a read
returns only events of transactions *older than every transaction still running*
(``tx < pg_snapshot_xmin(pg_current_snapshot())``): those are all finished, so nothing can
appear later below what was returned.  Ordered by ``(tx, id)``, a cursor then sees every event
exactly once.  The price: a long write transaction holds the feed back (never skips) until it
ends; a feed read never waits on a lock.

Retention (:func:`prune`, run by the worker's periodic task) deletes events older than
``benben.events.retention_hours`` that every durable consumer has read; a consumer that has not
read for ``benben.events.consumer_expiry_hours`` stops holding them back.  A reader whose
position falls behind what was pruned gets :class:`FeedGapError` rather than a silent skip.
"""

from __future__ import annotations

import datetime
import functools
import time
from collections.abc import Mapping, Sequence
from typing import Any

from pyramid.request import Request
from sqlalchemy import Connection, Insert, and_, delete, insert, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from benben.events.event import START, Event, FeedGapError, FeedPosition, check_event_type
from benben.events.listeners import has_listeners, tell_after_commit
from benben.events.models import EventRow, FeedConsumer
from benben.timestamps import utcnow

__all__ = [
    "PRUNED_MARK",
    "advance_consumer",
    "consumer_position",
    "event_draft",
    "feed_enabled",
    "latest_position",
    "note_published",
    "prune",
    "publish",
    "read_events",
]

PRUNED_MARK = "_pruned"  # the consumers' row that records how far retention deleted

_ENABLED_SETTING = "benben.events.enabled"
_EVENTS = EventRow.__table__
_CONSUMERS = FeedConsumer.__table__


def feed_enabled(registry: Any) -> bool:
    """Whether changes are written to the feed (``benben.events.enabled``)."""
    return bool(registry.settings.get(_ENABLED_SETTING, True))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _actor(request: Request) -> str | None:
    identity = getattr(request, "identity", None)
    return identity.user_id if identity is not None else None


def event_draft(
    request: Request,
    event_type: str,
    data: Mapping[str, Any] | None = None,
    *,
    collection_id: str | None = None,
    record_id: str | None = None,
    last_modified: int | None = None,
    occurred_at: int | None = None,
) -> Event:
    """The event ``request`` is about to publish (actor: the caller)."""
    return Event(
        type=event_type,
        occurred_at=now_ms() if occurred_at is None else occurred_at,
        actor=_actor(request),
        collection_id=collection_id,
        record_id=record_id,
        last_modified=last_modified,
        data=dict(data) if data is not None else None,
    )


@functools.cache
def _insert() -> Insert:
    return insert(_EVENTS)  # built once: constructing it costs more than running it


def publish(
    request: Request,
    event_type: str,
    data: Mapping[str, Any] | None = None,
    *,
    collection_id: str | None = None,
    record_id: str | None = None,
    last_modified: int | None = None,
) -> Event | None:
    """Write an event in the request's transaction (committed with the change, or not at all),
    and tell the in-process listeners after the commit.  ``data`` must be JSON.  None (nothing
    written) with ``benben.events.enabled = off``."""
    check_event_type(event_type)
    if not feed_enabled(request.registry):
        return None
    event = event_draft(
        request,
        event_type,
        data,
        collection_id=collection_id,
        record_id=record_id,
        last_modified=last_modified,
    )
    session = request.dbsession
    session.connection().execute(_insert(), _row_values(event))
    tell_after_commit(request, session, event)
    return event


def note_published(
    request: Request,
    event_type: str,
    data: Mapping[str, Any] | None,
    *,
    collection_id: str | None = None,
    record_id: str | None = None,
    last_modified: int | None = None,
    occurred_at: int,
) -> None:
    """For statements that wrote the event's row themselves (one-statement writes): tell the
    in-process listeners after the commit (the event is built only when someone listens)."""
    if not has_listeners(request.registry):
        return
    event = event_draft(
        request,
        event_type,
        data,
        collection_id=collection_id,
        record_id=record_id,
        last_modified=last_modified,
        occurred_at=occurred_at,
    )
    tell_after_commit(request, request.dbsession, event)


def _row_values(event: Event) -> dict[str, Any]:
    return {
        "type": event.type,
        "occurred_at": event.occurred_at,
        "actor": event.actor,
        "collection_id": event.collection_id,
        "record_id": event.record_id,
        "last_modified": event.last_modified,
        "data": event.data,
    }


# -- reading ---------------------------------------------------------------------------------

_COLUMNS = (
    "tx",
    "id",
    "type",
    "occurred_at",
    "actor",
    "collection_id",
    "record_id",
    "last_modified",
    "data",
)
# The oldest transaction still running, as a bigint: every tx below it is finished.
_HORIZON = text("(pg_snapshot_xmin(pg_current_snapshot())::text)::bigint")


def _event(row: Any) -> Event:
    return Event(
        type=row.type,
        occurred_at=row.occurred_at,
        actor=row.actor,
        collection_id=row.collection_id,
        record_id=row.record_id,
        last_modified=row.last_modified,
        data=row.data,
        position=FeedPosition(row.tx, row.id),
    )


def _visible(connection: Connection | Session) -> Any:
    """The condition of events safe to hand out: all of them on SQLite (one writer, ids in
    commit order); on PostgreSQL those of transactions older than every running one."""
    if _dialect(connection) == "postgresql":
        return _EVENTS.c.tx < _HORIZON
    return None


def _dialect(connection: Connection | Session) -> str:
    if isinstance(connection, Session):
        return connection.get_bind().dialect.name
    return connection.dialect.name


def read_events(
    connection: Connection | Session,
    after: FeedPosition = START,
    *,
    limit: int = 100,
    types: Sequence[str] | None = None,
    collection_ids: Sequence[str] | None = None,
) -> list[Event]:
    """Up to ``limit`` events after ``after``, in feed order, none of which a later read could
    find preceded by one not yet committed.  ``types``: exact types only.  FeedGapError when
    retention deleted events after ``after`` (``START`` asks for whatever is kept)."""
    if after != START:
        pruned = _position_of(connection, PRUNED_MARK)
        if pruned is not None and after < pruned:
            raise FeedGapError(after, pruned)
    position = tuple_(_EVENTS.c.tx, _EVENTS.c.id)
    conditions = [position > tuple_(after.tx, after.id)]
    if (visible := _visible(connection)) is not None:
        conditions.append(visible)
    if types:
        conditions.append(_EVENTS.c.type.in_(list(types)))
    if collection_ids:
        conditions.append(_EVENTS.c.collection_id.in_(list(collection_ids)))
    query = (
        select(*(_EVENTS.c[name] for name in _COLUMNS))
        .where(and_(*conditions))
        .order_by(_EVENTS.c.tx, _EVENTS.c.id)
        .limit(limit)
    )
    return [_event(row) for row in connection.execute(query)]


def latest_position(connection: Connection | Session) -> FeedPosition:
    """The position of the newest event a reader may be handed now (START for an empty feed):
    a consumer starting here sees every event committed from now on."""
    query = select(_EVENTS.c.tx, _EVENTS.c.id)
    if (visible := _visible(connection)) is not None:
        query = query.where(visible)
    row = connection.execute(
        query.order_by(_EVENTS.c.tx.desc(), _EVENTS.c.id.desc()).limit(1)
    ).first()
    if row is None:
        pruned = _position_of(connection, PRUNED_MARK)
        return pruned if pruned is not None else START
    return FeedPosition(row.tx, row.id)


# -- durable consumers -----------------------------------------------------------------------


def _position_of(connection: Connection | Session, name: str) -> FeedPosition | None:
    row = connection.execute(
        select(_CONSUMERS.c.tx, _CONSUMERS.c.event_id).where(_CONSUMERS.c.name == name)
    ).first()
    return FeedPosition(row.tx, row.event_id) if row is not None else None


def consumer_position(
    session: Session, name: str, *, lock: bool = True, start: FeedPosition | None = None
) -> FeedPosition:
    """Where the durable consumer ``name`` has read up to; a new one is registered at ``start``
    (default: the feed's latest position: it sees what commits from now on).  ``lock``: the row
    is locked until the transaction ends, so that two workers consuming under one name take
    turns (on SQLite the writer's lock does it)."""
    if name == PRUNED_MARK:
        raise ValueError(f"{PRUNED_MARK!r} is reserved")
    query = select(_CONSUMERS.c.tx, _CONSUMERS.c.event_id).where(_CONSUMERS.c.name == name)
    if lock and _dialect(session) == "postgresql":
        query = query.with_for_update()
    row = session.execute(query).first()
    if row is not None:
        return FeedPosition(row.tx, row.event_id)
    position = latest_position(session) if start is None else start
    # Registered only if still missing: two transactions registering one consumer at once
    # (two workers' first reads) must not move back the position the first one then advanced.
    _register(session, name, position)
    return consumer_position(session, name, lock=lock)


def advance_consumer(session: Session, name: str, position: FeedPosition) -> None:
    """Record that ``name`` has read up to ``position`` (in the caller's transaction)."""
    _upsert(session, name, position)


def _register(session: Session, name: str, position: FeedPosition) -> None:
    values = {"name": name, "tx": position.tx, "event_id": position.id, "updated_at": utcnow()}
    insert_ = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    session.execute(insert_(_CONSUMERS).values(**values).on_conflict_do_nothing())


def _upsert(session: Session, name: str, position: FeedPosition) -> None:
    values = {"name": name, "tx": position.tx, "event_id": position.id, "updated_at": utcnow()}
    upsert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    statement = upsert(_CONSUMERS).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["name"],
        set_={
            "tx": values["tx"],
            "event_id": values["event_id"],
            "updated_at": values["updated_at"],
        },
    )
    session.execute(statement)


# -- retention -------------------------------------------------------------------------------


def prune(
    session: Session,
    *,
    retention_ms: int,
    consumer_expiry_ms: int,
    now: int | None = None,
    batch: int = 5000,
) -> int:
    """Delete events older than ``retention_ms`` that every consumer active within
    ``consumer_expiry_ms`` has read; record the highest position deleted.  The number deleted.
    Safe to run on several workers at once (the mark only moves forward)."""
    now = now_ms() if now is None else now
    cutoff = now - retention_ms
    expiry = utcnow().timestamp() - consumer_expiry_ms / 1000
    held = _oldest_held(session, expiry)
    conditions = [_EVENTS.c.occurred_at < cutoff]
    if held is not None:
        conditions.append(tuple_(_EVENTS.c.tx, _EVENTS.c.id) <= tuple_(held.tx, held.id))
    deleted = 0
    highest: FeedPosition | None = None
    while True:
        victims = session.execute(
            select(_EVENTS.c.tx, _EVENTS.c.id)
            .where(and_(*conditions))
            .order_by(_EVENTS.c.tx, _EVENTS.c.id)
            .limit(batch)
        ).all()
        if not victims:
            break
        ids = [row.id for row in victims]
        session.execute(delete(_EVENTS).where(_EVENTS.c.id.in_(ids)))
        deleted += len(ids)
        last = FeedPosition(victims[-1].tx, victims[-1].id)
        highest = last if highest is None else max(highest, last)
        if len(victims) < batch:
            break
    if highest is not None:
        mark = _position_of(session, PRUNED_MARK)
        if mark is None or mark < highest:
            _upsert(session, PRUNED_MARK, highest)
    return deleted


def _oldest_held(session: Session, expiry_epoch: float) -> FeedPosition | None:
    """The lowest position among consumers active since ``expiry_epoch``; None if none is."""
    since = datetime.datetime.fromtimestamp(expiry_epoch, tz=datetime.UTC)
    rows = session.execute(
        select(_CONSUMERS.c.tx, _CONSUMERS.c.event_id).where(
            _CONSUMERS.c.updated_at >= since, _CONSUMERS.c.name != PRUNED_MARK
        )
    ).all()
    positions = [FeedPosition(row.tx, row.event_id) for row in rows]
    return min(positions) if positions else None
