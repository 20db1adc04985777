"""PostgreSQL plans the documented query shapes on a declared field's index from statistics it
has as soon as the field is declared: ensure_indexes analyzes a populated collection's table, as
a new expression index has no statistics until then (and autovacuum may not come round for a
long time on a large table)."""

from __future__ import annotations

import pytest
from data_query_support import insert_many, parse
from sqlalchemy import text
from sqlalchemy.orm import Session

from benben.data.indexes import ensure_indexes, index_name
from benben.data.sql import list_statements

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
