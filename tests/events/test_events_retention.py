"""Durable consumers' cursors, and retention that never deletes what a live consumer needs."""

from __future__ import annotations

from typing import Any

import pytest
import transaction

from benben.db import get_tm_session, session_factory
from benben.events.event import START, FeedGapError
from benben.events.feed import (
    advance_consumer,
    consumer_position,
    latest_position,
    prune,
    read_events,
)
from benben.events.models import EventRow
from benben.testing import feed_settled

HOUR_MS = 3_600_000


@pytest.fixture
def session(registry: Any) -> Any:
    """A session committed by ``commit(session)``."""
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    session = get_tm_session(session_factory(registry), manager)
    session.info["manager"] = manager
    session.info["registry"] = registry
    yield session
    manager.abort()
    session.close()


def commit(session: Any) -> None:
    manager = session.info["manager"]
    manager.commit()
    feed_settled(session.info["registry"])
    manager.begin()


def add_events(session: Any, *occurred_at: int) -> None:
    for moment in occurred_at:
        session.add(EventRow(type="test.old", occurred_at=moment))
    session.flush()
    commit(session)


def test_a_new_consumer_starts_at_the_latest_position(session):
    add_events(session, 1, 2)
    start = consumer_position(session, "hooks")
    commit(session)
    assert start == latest_position(session) != START
    assert read_events(session, start) == []
    add_events(session, 3)
    events = read_events(session, consumer_position(session, "hooks"))
    assert [event.occurred_at for event in events] == [3]
    advance_consumer(session, "hooks", events[-1].position)
    commit(session)
    assert consumer_position(session, "hooks") == events[-1].position


def test_retention_keeps_what_a_live_consumer_has_not_read(session):
    add_events(session, 1, 2)
    consumer_position(session, "hooks", start=START)  # has read nothing
    commit(session)
    now = 10 * HOUR_MS
    assert prune(session, retention_ms=HOUR_MS, consumer_expiry_ms=HOUR_MS * 100, now=now) == 0
    events = read_events(session, START)
    advance_consumer(session, "hooks", events[0].position)  # read the first only
    commit(session)
    assert prune(session, retention_ms=HOUR_MS, consumer_expiry_ms=HOUR_MS * 100, now=now) == 1
    commit(session)
    assert [event.occurred_at for event in read_events(session, START)] == [2]
    # The consumer resumes where it was: nothing it needed is gone.
    assert len(read_events(session, events[0].position)) == 1


def test_retention_keeps_recent_events_even_when_read(session):
    add_events(session, 9 * HOUR_MS, 10 * HOUR_MS)
    advance_consumer(session, "hooks", latest_position(session))
    commit(session)
    assert prune(session, retention_ms=2 * HOUR_MS, consumer_expiry_ms=HOUR_MS,
                 now=10 * HOUR_MS) == 0  # fmt: skip


def test_a_reader_behind_what_was_pruned_learns_of_the_gap(session):
    add_events(session, 1, 2, 3)
    events = read_events(session, START)
    # No consumer holds them: all old enough go, and the mark records how far.
    assert prune(session, retention_ms=HOUR_MS, consumer_expiry_ms=HOUR_MS, now=HOUR_MS * 5) == 3
    commit(session)
    with pytest.raises(FeedGapError) as gap:
        read_events(session, events[0].position)
    assert gap.value.resume_at == events[-1].position
    assert read_events(session, gap.value.resume_at) == []
    assert read_events(session, START) == []  # START asks for whatever is kept
    assert latest_position(session) == events[-1].position


def test_an_expired_consumer_no_longer_holds_events(session):
    import datetime

    from sqlalchemy import update

    from benben.events.models import FeedConsumer

    add_events(session, 1, 2)
    consumer_position(session, "gone", start=START)
    session.execute(
        update(FeedConsumer.__table__).values(
            updated_at=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
        )
    )
    commit(session)
    assert prune(session, retention_ms=HOUR_MS, consumer_expiry_ms=HOUR_MS, now=HOUR_MS * 5) == 2


def test_the_pruned_mark_is_not_a_consumer_name(session):
    with pytest.raises(ValueError, match="reserved"):
        consumer_position(session, "_pruned")
