"""A feed consumer's cursor as archives keep it: just before the first event it has not read,
since archived events lose their transaction ids and are ordered by id alone."""

from __future__ import annotations

import gzip
import json

import pytest
from sqlalchemy import delete

from benben.backup.tables import spool_table
from benben.db import get_engine
from benben.events.models import EventRow, FeedConsumer

# Transactions overlapping on PostgreSQL: feed order (tx, id) is 1, 3, 2, 4.
EVENTS = [(100, 1), (200, 2), (150, 3), (300, 4)]


def archived_cursors(registry, consumers):
    engine = get_engine(registry)
    with engine.begin() as connection:
        connection.execute(delete(FeedConsumer.__table__))
        connection.execute(delete(EventRow.__table__))
        connection.execute(
            EventRow.__table__.insert(),
            [
                {"id": id_, "tx": tx, "type": "record.created", "occurred_at": 1}
                for tx, id_ in EVENTS
            ],
        )
        connection.execute(
            FeedConsumer.__table__.insert(),
            [{"name": name, "tx": tx, "event_id": id_} for name, (tx, id_) in consumers.items()],
        )
    with engine.connect() as connection:
        _, member = spool_table(connection, FeedConsumer.__table__, lambda _: None)
        connection.rollback()
    member.file.seek(0)
    rows = [json.loads(line) for line in gzip.decompress(member.file.read()).splitlines()]
    member.file.close()
    return {row[0]: (row[1], row[2]) for row in rows}


@pytest.mark.parametrize(
    ("cursor", "archived"),
    [
        ((0, 0), 0),  # read nothing: everything comes again
        ((100, 1), 1),
        ((150, 3), 1),  # read 1 and 3, not 2: 2 must come (3 comes again)
        ((200, 2), 3),  # read 1, 3, 2
        ((300, 4), 4),  # read everything
    ],
)
def test_no_unread_event_is_skipped_after_a_restore(registry, cursor, archived):
    assert archived_cursors(registry, {"hooks": cursor}) == {"hooks": (0, archived)}
