"""PostgreSQL plans the documented query shapes on a declared field's index from statistics of
what the table holds: ensure_indexes analyzes a populated collection's table, as a new
expression index has no statistics until then, and a slow page analyzes it when the planner's
idea of the collection's size is stale (autovacuum may not come round for a long time on a
large table)."""

from __future__ import annotations

import pytest
from data_query_support import fetch, insert_many, parse
from sqlalchemy import text
from sqlalchemy.orm import Session

from benben.data import query_statistics, sql
from benben.data.indexes import ensure_indexes, index_name
from benben.data.query_statistics import MIN_RECORDS, refresh_if_stale, statistics_stale
from benben.data.sql import fetch_page, list_statements

pytestmark = pytest.mark.parametrize("backends", [("postgresql", "memory")], indirect=True)

RECORDS = 5000


@pytest.fixture
def engine(things_engine):
    return things_engine


def populate(engine):
    insert_many(
        engine,
        "things",
        [{"price": (n * 7919) % RECORDS, "category": "abcd"[n % 4]} for n in range(RECORDS)],
    )


def declare(engine, fields):
    with Session(engine) as session, session.begin():
        ensure_indexes(session, "things", [], fields)


def expression_statistics(engine, field):
    """How many of the field's index expressions PostgreSQL holds statistics of."""
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT count(*) FROM pg_stats WHERE tablename = :index"),
            {"index": index_name("things", field)},
        ).scalar_one()


def plan(engine, query):
    """The plan PostgreSQL chooses for ``query``'s first page, left to its own statistics."""
    statement = list_statements("postgresql", "things", parse(query), readable_by=None).page
    sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        return "\n".join(connection.execute(text("EXPLAIN " + sql)).scalars())


def test_declaring_fields_of_a_populated_collection_gathers_their_statistics(engine):
    populate(engine)
    assert expression_statistics(engine, "price") == 0
    declare(engine, ["price", "category"])
    assert expression_statistics(engine, "price") == 3  # rank, num and text
    assert expression_statistics(engine, "category") == 3


def test_declaring_fields_of_an_empty_collection_analyzes_nothing(engine):
    declare(engine, ["price"])
    assert expression_statistics(engine, "price") == 0


# Each documented shape (data-queries.md, "Indexes and speed") with the index that answers it,
# matching far more records than a page: walking the index in order beats sorting the matches.
SHAPES = [
    ("category=c&price__ge=2500&_sort=-price", "price"),
    ("price__ge=2500&_sort=-price", "price"),
    ("price__lt=2500&_sort=price", "price"),
    ("_sort=-price", "price"),
    ("_sort=price", "price"),
    ("category=c", "category"),
    ("category__in=a,b&_sort=category", "category"),
]


def test_the_documented_shapes_use_the_index_without_sorting(engine):
    populate(engine)
    declare(engine, ["price", "category"])
    for query, field in SHAPES:
        chosen = plan(engine, query)
        assert index_name("things", field) in chosen, (query, chosen)
        assert "Sort" not in chosen, (query, chosen)


def test_stale_statistics_are_refreshed_and_fresh_ones_left_alone(engine):
    declare(engine, ["price", "category"])  # empty: nothing analyzed
    populate(engine)
    with Session(engine) as session, session.begin():
        assert statistics_stale(session, "things")
        assert refresh_if_stale(session, "things")
    assert expression_statistics(engine, "price") == 3
    with Session(engine) as session, session.begin():
        assert not statistics_stale(session, "things")
        assert not refresh_if_stale(session, "things")


def test_a_small_collection_is_never_stale(engine):
    insert_many(engine, "things", [{"price": n} for n in range(MIN_RECORDS - 1)])
    with Session(engine) as session:
        assert not statistics_stale(session, "things")


def test_a_slow_page_refreshes_stale_statistics(engine, monkeypatch):
    declare(engine, ["price", "category"])
    populate(engine)
    assert "Sort" in plan(engine, "_sort=-price")  # the collection taken for an empty one
    monkeypatch.setattr(sql, "SLOW_PAGE_SECONDS", 3600.0)
    fetch(engine, "_sort=-price")  # not slow: nothing looked at
    assert expression_statistics(engine, "price") == 0
    monkeypatch.setattr(sql, "SLOW_PAGE_SECONDS", 0.0)
    with Session(engine) as session, session.begin():
        page = fetch_page(session, "things", parse("_sort=-price"), readable_by=None)
    assert len(page.records) == 100
    assert expression_statistics(engine, "price") == 3
    assert "Sort" not in plan(engine, "_sort=-price")


def test_a_refresh_that_fails_leaves_the_request_and_its_transaction_alone(engine, monkeypatch):
    """ANALYZE refused (a hot-standby replica answers "cannot execute ANALYZE during
    recovery"): no error for the request, its transaction goes on, the page is answered."""
    declare(engine, ["price", "category"])
    populate(engine)

    def refused(session):
        session.execute(text("SELECT 1 / 0"))

    monkeypatch.setattr(query_statistics, "analyze_records", refused)
    with Session(engine) as session, session.begin():
        assert not refresh_if_stale(session, "things")
        page = fetch_page(session, "things", parse("_sort=-price"), readable_by=None)
        assert len(page.records) == 100
    assert expression_statistics(engine, "price") == 0
