"""The expression indexes of declared fields: created, changed and dropped with the collection,
used by the queries (filter, ORDER BY and the next page's bound) on both backends, and never
changing an answer."""

from __future__ import annotations

import pytest
from data_query_support import (
    ORACLE_QUERIES,
    Doc,
    add_collection,
    documents,
    fetch,
    fetch_all,
    ids,
    insert,
    oracle,
    parse,
)
from sqlalchemy import text
from sqlalchemy.orm import Session

from benben.data.indexes import drop_indexes, ensure_indexes, index_name
from benben.data.sql import list_statements


@pytest.fixture
def engine(things_engine):
    return things_engine


def index_names(engine):
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            sql = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'index'"
        return {name for name in connection.execute(text(sql)).scalars() if "_rq_" in name}


def declare(engine, old, new, cid="things"):
    with Session(engine) as session, session.begin():
        ensure_indexes(session, cid, old, new)


def test_index_names_fit_postgresql_and_are_per_collection_and_field():
    names = {index_name(c, f) for c in ("a", "b" * 64) for f in ("x", "x.y", "z" * 500)}
    assert len(names) == 6
    assert all(len(name) <= 63 for name in names)


def test_indexes_follow_the_declared_fields(engine):
    add_collection(engine, "others")
    declare(engine, [], ["price", "meta.rank"])
    declare(engine, [], ["price"], cid="others")
    expected = {index_name("things", "price"), index_name("things", "meta.rank")}
    assert index_names(engine) == expected | {index_name("others", "price")}
    declare(engine, ["price", "meta.rank"], ["price", "meta.rank"])  # idempotent
    declare(engine, ["price", "meta.rank"], ["name", "price"])
    assert index_names(engine) == {
        index_name("things", "price"),
        index_name("things", "name"),
        index_name("others", "price"),
    }
    with Session(engine) as session, session.begin():
        drop_indexes(session, "things", ["price", "name", "never-declared"])
    assert index_names(engine) == {index_name("others", "price")}


def test_an_invalid_field_creates_nothing(engine):
    with Session(engine) as session, session.begin(), pytest.raises(ValueError, match="segment"):
        ensure_indexes(session, "things", [], ["fine", "not fine"])
    assert index_names(engine) == set()
    with Session(engine) as session, session.begin(), pytest.raises(ValueError, match="collection"):
        ensure_indexes(session, "Bad'Id", [], ["fine"])
    assert index_names(engine) == set()


def test_answers_are_the_same_with_indexes(engine):
    docs = documents()
    insert(engine, "things", docs)
    declare(engine, [], ["price", "name", "tags", "meta", "meta.rank", "score"])
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    expected = {query: oracle(docs, query) for query in ORACLE_QUERIES}
    assert {query: ids(fetch(engine, query)) for query in ORACLE_QUERIES} == expected
    assert {query: fetch_all(engine, query, limit=4) for query in ORACLE_QUERIES} == expected


def plan(engine, query, *, cursor=None):
    """The backend's plan for ``query``'s page (values inlined, as EXPLAIN needs them)."""
    q = parse(query + (f"&_cursor={cursor}" if cursor else ""))
    statement = list_statements(engine.dialect.name, "things", q, readable_by=None).page
    sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            # On a handful of rows a scan is cheapest: make the planner show whether the index
            # *can* answer the filter and the order, which is what this test is about.
            session.execute(text("SET LOCAL enable_seqscan = off"))
            session.execute(text("SET LOCAL enable_sort = off"))
            session.execute(text("SET LOCAL enable_incremental_sort = off"))
            return "\n".join(session.execute(text("EXPLAIN " + sql)).scalars())
        return "\n".join(row[3] for row in session.execute(text("EXPLAIN QUERY PLAN " + sql)))


INDEXED_QUERIES = [
    ("price__gt=5&_sort=price", "price"),
    ("price__gt=5&price__le=100&_sort=-price", "price"),
    ("_sort=price", "price"),
    ("_sort=-price", "price"),
    ("name=apple", "name"),
    ("name=apple&_sort=last_modified", "name"),
    ("name__startswith=app&_sort=name", "name"),
    ("name__in=apple,zebra&_sort=-name", "name"),
    ("meta.rank=1", "meta.rank"),
    ("meta.rank__lt=3&_sort=meta.rank", "meta.rank"),
    ("price__exists=false", "price"),
    ("price=null&_sort=-last_modified", "price"),
]


@pytest.mark.parametrize(("query", "field"), INDEXED_QUERIES, ids=[q for q, _ in INDEXED_QUERIES])
def test_the_index_answers_the_filter_and_the_order(engine, query, field):
    insert(engine, "things", [*documents(), Doc("x1", {"price": None}), Doc("x2", {})])
    declare(engine, [], ["price", "name", "meta.rank"])
    first = plan(engine, query)
    assert index_name("things", field) in first, first
    if engine.dialect.name == "postgresql":
        assert " Sort " not in first
        assert "Sort Key" not in first, first
    else:
        assert "TEMP B-TREE" not in first, first
    cursor = fetch(engine, query, limit=1).next_cursor
    assert cursor
    following = plan(engine, query, cursor=cursor)
    assert index_name("things", field) in following, following
    assert "TEMP B-TREE" not in following
    assert "Sort Key" not in following


def statistics_names(engine):
    with engine.connect() as connection:
        sql = (
            "SELECT stxname FROM pg_statistic_ext"
            " WHERE stxnamespace = current_schema()::regnamespace"
        )
        return set(connection.execute(text(sql)).scalars())


@pytest.mark.parametrize("backends", [("postgresql", "memory")], indirect=True)
def test_postgresql_plans_with_statistics_on_the_field_expressions(engine):
    declare(engine, [], ["price", "category"])
    assert statistics_names(engine) == {
        "st" + index_name("things", "price")[2:],
        "st" + index_name("things", "category")[2:],
    }
    # Filled by ANALYZE, they make the planner estimate a filter on a declared field from the
    # data, not from three multiplied guesses.
    docs = [Doc(f"r{i}", {"price": i, "category": "abcd"[i % 4]}) for i in range(2000)]
    insert(engine, "things", docs)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE benben_records"))
    query = parse("category=c")
    statement = list_statements("postgresql", "things", query, readable_by=None).page
    sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        lines = connection.execute(text("EXPLAIN " + sql)).scalars().all()
    scans = [line for line in lines if "Scan" in line]
    estimated = int(scans[0].split("rows=")[1].split()[0])
    assert estimated > 100  # 500 match; without the statistics the estimate is 1
    declare(engine, ["price", "category"], [])
    assert statistics_names(engine) == set()
