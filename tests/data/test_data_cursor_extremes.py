"""Keyset pages over extreme sort values, on both backends: every record exactly once, in order,
whatever number or string a record holds, even one stored before such numbers were refused."""

from __future__ import annotations

import pytest
from data_query_support import Doc, fetch, fetch_all, ids, insert

EXTREME_NUMBERS = [1e308, -1e308, -0.0, 0, 5e-324, 2**63 - 1, -(2**63 - 1), 1.5, 2**53 + 1]


@pytest.fixture
def engine(things_engine):
    return things_engine


def _docs(values):
    return [Doc(f"r{i:02}", {"v": value}) for i, value in enumerate(values)]


def _expected(docs, descending=False):
    # -0.0 == 0: such ties are broken by last_modified, then id (the insertion order here).
    order = sorted(docs, key=lambda d: (d.data["v"], d.last_modified, d.id), reverse=descending)
    return [doc.id for doc in order]


@pytest.mark.parametrize("descending", [False, True])
def test_numbers_page_exactly_once_in_order(engine, descending):
    docs = _docs(EXTREME_NUMBERS)
    insert(engine, "things", docs)
    query = "_sort=-v" if descending else "_sort=v"
    assert fetch_all(engine, query, limit=1) == _expected(docs, descending)
    assert fetch_all(engine, query, limit=2) == _expected(docs, descending)


@pytest.mark.parametrize("descending", [False, True])
def test_long_strings_page_exactly_once_in_order(engine, descending):
    # Sort keys longer than a cursor's text: they share a long prefix and differ at the end.
    values = ["x" * 1500 + tail for tail in ("b", "a", "c")] + ["é" * 700, "y"]
    docs = _docs(values)
    insert(engine, "things", docs)
    query = "_sort=-v" if descending else "_sort=v"
    assert fetch_all(engine, query, limit=1) == _expected(docs, descending)


def test_integers_stored_beyond_the_rule_still_page(engine):
    """Numbers refused today may be in an older database: SQLite reads 10^400 as an infinity,
    PostgreSQL exactly; either way every page has its next one."""
    docs = _docs([10**400, -(10**400), 10**300, 3, 10**300 + 1])
    insert(engine, "things", docs)
    for query in ("_sort=v", "_sort=-v"):
        seen = fetch_all(engine, query, limit=1)
        assert sorted(seen) == sorted(doc.id for doc in docs)  # each exactly once
        ends = {seen[0], seen[-1]}
        assert ends == {"r00", "r01"}  # the infinities (or the largest numbers) at the ends


@pytest.mark.parametrize("descending", [False, True])
def test_a_long_text_boundary_that_changes_skips_nothing(engine, descending):
    """The record a page ended on is edited before the next page: its long text cannot be
    read back, so the cursor's prefix bounds the next page; records may come again, never go
    missing."""
    from sqlalchemy.orm import Session

    from benben.data.models import Record

    prefix = "x" * 100
    docs = _docs([prefix + "b", prefix + "a", prefix + "c", "a", "z"])
    insert(engine, "things", docs)
    query = "_sort=-v" if descending else "_sort=v"
    first = fetch(engine, query, limit=2)
    boundary = ids(first)[-1]
    with Session(engine) as session, session.begin():
        record = session.get(Record, ("things", boundary))
        record.data = {"v": "moved"}
    rest = fetch_all(engine, query + f"&_cursor={first.next_cursor}", limit=10)
    stayed = {doc.id for doc in docs} - set(ids(first))
    assert stayed <= set(rest)
