"""The outbox gap, on PostgreSQL: transactions commit in another order than their event ids, and a
reader holding a cursor still sees every event exactly once."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import insert, text

from benben.db import get_engine
from benben.events.event import START, FeedPosition
from benben.events.feed import read_events
from benben.events.models import EventRow

# SQLite has one writer at a time: its ids are handed out in commit order, nothing to prove.
pytestmark = pytest.mark.parametrize("backends", [("postgresql", "redis")], indirect=True)


@pytest.fixture
def engine(app: Any) -> Any:
    return get_engine(app.app.registry)


def insert_event(connection: Any, name: str) -> int:
    row = connection.execute(
        insert(EventRow.__table__).returning(EventRow.__table__.c.id),
        {"type": f"test.{name}", "occurred_at": 1, "data": None},
    ).one()
    return int(row.id)


class Reader:
    """A consumer holding a cursor, reading what the feed hands out now."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.cursor: FeedPosition = START
        self.seen: list[str] = []

    def poll(self) -> list[str]:
        with self.engine.connect() as connection:
            events = [
                e for e in read_events(connection, self.cursor, limit=100)
                if e.type.startswith("test.")
            ]  # fmt: skip
            all_events = read_events(connection, self.cursor, limit=100)
        if all_events:
            self.cursor = all_events[-1].position
        names = [event.type.removeprefix("test.") for event in events]
        self.seen.extend(names)
        return names


def poll_settled(reader: Reader, expected: int, seconds: float = 10.0) -> list[str]:
    """What the reader gets once ``expected`` events are visible. The horizon is the whole
    cluster's oldest running transaction, and parallel test workers share the cluster: one of
    theirs may hold it back for a moment after ours committed."""
    got: list[str] = []
    deadline = time.monotonic() + seconds
    while len(got) < expected and time.monotonic() < deadline:
        got += reader.poll()
        if len(got) < expected:
            time.sleep(0.02)
    return got


def test_a_lower_id_committed_later_is_not_skipped(engine):
    reader = Reader(engine)
    reader.poll()
    first, second = engine.connect(), engine.connect()
    try:
        one, two = first.begin(), second.begin()
        low = insert_event(first, "first")  # the lower id...
        high = insert_event(second, "second")
        assert low < high
        two.commit()  # ...commits after the higher one
        # A reader on `id > cursor` would take "second" now and skip "first" for ever.
        assert reader.poll() == []
        one.commit()
        assert poll_settled(reader, 2) == ["first", "second"]
        assert reader.poll() == []
    finally:
        first.close()
        second.close()


def test_an_older_transaction_with_a_higher_id_is_read_after_it_commits(engine):
    reader = Reader(engine)
    reader.poll()
    old, young = engine.connect(), engine.connect()
    try:
        old_tx, young_tx = old.begin(), young.begin()
        old.execute(text("SELECT pg_current_xact_id()"))  # the older transaction id
        young.execute(text("SELECT pg_current_xact_id()"))
        low = insert_event(young, "young")
        high = insert_event(old, "old")
        assert low < high
        young_tx.commit()  # the younger transaction committed: held back behind the older one
        assert reader.poll() == []
        old_tx.commit()
        assert poll_settled(reader, 2) == ["old", "young"]  # transaction order, each once
    finally:
        old.close()
        young.close()


def test_a_rolled_back_transaction_leaves_no_event_and_no_stall(engine):
    reader = Reader(engine)
    reader.poll()
    failing, other = engine.connect(), engine.connect()
    try:
        failing_tx = failing.begin()
        insert_event(failing, "rolled-back")
        with other.begin():
            insert_event(other, "kept")
        assert reader.poll() == []  # held back while the first may still commit
        failing_tx.rollback()
        assert poll_settled(reader, 1) == ["kept"]
    finally:
        failing.close()
        other.close()


def test_many_interleaved_writers_are_each_read_exactly_once(engine):
    import random

    reader = Reader(engine)
    reader.poll()
    rng = random.Random(7)
    connections = [engine.connect() for _ in range(6)]
    try:
        open_transactions: dict[int, Any] = {}
        written: list[str] = []
        for step in range(60):
            slot = rng.randrange(len(connections))
            if slot not in open_transactions:
                open_transactions[slot] = connections[slot].begin()
            insert_event(connections[slot], f"e{step}")
            written.append(f"e{step}")
            if rng.random() < 0.4:
                open_transactions.pop(slot).commit()
            reader.poll()
        for transaction_ in open_transactions.values():
            transaction_.commit()
        poll_settled(reader, len(written) - len(reader.seen))
        assert sorted(reader.seen) == sorted(written)
        assert len(reader.seen) == len(set(reader.seen))
    finally:
        for connection in connections:
            connection.close()
