"""fetch_page on both backends: the same records, in the same order, as the Python reference
(data_query_support.oracle) says, for every operator, mixed JSON types, pagination, tombstones,
counts and record grants."""

from __future__ import annotations

import pytest
from data_query_support import (
    BASE_TIME,
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
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from benben.data.sql import fetch_page
from benben.errors import ProblemError


@pytest.fixture
def engine(things_engine):
    return things_engine


@pytest.fixture
def docs(engine):
    docs = documents()
    insert(engine, "things", docs)
    return docs


EXPECTED = [
    # (query, ids in order) written out by hand: the oracle is checked too, not only trusted.
    ("price__gt=5&_sort=price", ["r01", "r14", "r02", "r12", "r07"]),
    ("price__lt=1&_sort=-price", ["r16", "r13", "r06"]),
    ("price=10&_sort=id", ["r01", "r14"]),
    ('price="10"', ["r03"]),
    (
        "price__ne=10&_sort=id",
        ["r02", "r03", "r04", "r05", "r06", "r07", "r08", "r09", "r10", "r11", "r12", "r13", "r16"],
    ),
    ("price=true", ["r08"]),
    ("price=null", ["r04"]),
    ("active=false", ["r02"]),
    ('price__in=10,"10",true&_sort=id', ["r01", "r03", "r08", "r14"]),
    ("price__exists=false&_sort=id", ["r11"]),
    ("tags__contains=red&_sort=id", ["r01", "r03"]),
    ("tags__contains=2.5", ["r05"]),
    ("tags__contains=true", ["r05"]),
    ("tags__contains=null", ["r05"]),
    ("name__contains=pp&_sort=id", ["r01", "r04", "r07", "r14"]),
    ("name__startswith=a%&_sort=id", ["r12"]),
    ("name__startswith=apple&_sort=-id", ["r14", "r07", "r04", "r01"]),
    ("name__startswith=10", ["r08"]),
    ("name__gt=a&name__lt=b&_sort=name", ["r12", "r01", "r07", "r14", "r04"]),
    ("meta.rank=1&_sort=id", ["r01", "r14"]),
    ("meta.deep.x=y", ["r01"]),
    ("score=0.1", ["r13"]),
    ("score__gt=0.3", ["r16"]),
    (
        "_sort=name&name__exists=true",
        [
            "r10",
            "r09",
            "r13",
            "r08",
            "r02",
            "r12",
            "r01",
            "r07",
            "r14",
            "r04",
            "r03",
            "r06",
            "r05",
            "r16",
        ],
    ),
    ("id__in=r02,r01&_sort=id", ["r01", "r02"]),
    ("id__gt=r13&_sort=id", ["r14", "r16"]),
    ("id__startswith=r1&id__lt=r12&_sort=id", ["r10", "r11"]),
]


def test_hand_written_answers(engine, docs):
    # One test for all (an app per test is slow); every query's answer is compared.
    assert {q: oracle(docs, q) for q, _ in EXPECTED} == dict(EXPECTED)
    assert {q: ids(fetch(engine, q)) for q, _ in EXPECTED} == dict(EXPECTED)


def test_answers_match_the_reference_paged_or_not(engine, docs):
    expected = {query: oracle(docs, query) for query in ORACLE_QUERIES}
    assert {query: ids(fetch(engine, query)) for query in ORACLE_QUERIES} == expected
    assert {query: fetch_all(engine, query, limit=4) for query in ORACLE_QUERIES} == expected


@pytest.mark.parametrize("query", ["_sort=price", "", "_sort=-name,price", "price__gt=0"])
def test_every_record_is_paged_exactly_once_while_records_are_added(engine, docs, query):
    """Keyset pagination: records that exist throughout are each listed once, whatever is
    inserted before or after the cursor meanwhile; nothing is listed twice."""
    expected = oracle(docs, query)
    seen: list[str] = []
    cursor = None
    for round_ in range(100):
        page = fetch(engine, query + (f"&_cursor={cursor}" if cursor else ""), limit=3)
        seen += ids(page)
        cursor = page.next_cursor
        if cursor is None:
            break
        new = [
            Doc(f"n{round_}a", {"price": -1000 + round_, "name": "aaa"}),
            Doc(f"n{round_}b", {"price": 10, "name": "apple"}),
            Doc(f"n{round_}c", {"price": "zzz"}),
        ]
        insert(engine, "things", new)
    assert round_ >= 2  # three pages at least
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i.startswith("r")] == expected


def test_count_is_the_total_of_every_page(engine, docs):
    page = fetch(engine, "price__exists=true&_count=true", limit=2)
    assert len(page.records) == 2
    assert page.total == len(oracle(docs, "price__exists=true")) == 14
    assert fetch(engine, "price__exists=true").total is None
    assert fetch(engine, "name=nobody&_count=true").total == 0


def test_tombstones_come_only_with_since_or_before_and_escape_data_filters(engine, docs):
    assert "r15" not in ids(fetch(engine, "_limit=100"))
    changes = fetch(engine, f"_since={BASE_TIME}&_count=true")
    assert "r15" in ids(changes)
    assert changes.total == len(docs)
    deleted = next(r for r in changes.records if r.id == "r15")
    assert deleted.deleted
    assert deleted.data is None
    # A tombstone has no data to filter: a client syncing a filtered view must still hear of it.
    assert ids(fetch(engine, f"_since={BASE_TIME}&price__gt=5&_sort=id")) == [
        "r01",
        "r02",
        "r07",
        "r12",
        "r14",
        "r15",
    ]
    r15 = docs[14].last_modified
    assert ids(fetch(engine, f"_since={r15 - 1}&_before={r15 + 1}")) == ["r15"]
    assert ids(fetch(engine, f"_since={r15}&_before={r15 + 2}")) == ["r16"]
    # Metadata filters still apply to tombstones.
    assert ids(fetch(engine, f"_since={BASE_TIME}&id__ne=r15&price=10&_sort=id")) == [
        "r01",
        "r14",
    ]


def test_readable_by_lists_only_records_granted_to_one_of_the_principals(engine):
    docs = [
        Doc("a", {"n": 1}, readers=("user:alice",)),
        Doc("b", {"n": 2}, writers=("user:alice",)),
        Doc("c", {"n": 3}, readers=("group:staff",)),
        Doc("d", {"n": 4}, readers=("user:bob",)),
        Doc("e", {"n": 5}),
        Doc("f", None, deleted=True, readers=("user:alice",)),
    ]
    insert(engine, "things", docs)
    alice = frozenset({"user:alice", "system.Everyone", "system.Authenticated"})
    assert ids(fetch(engine, "_sort=n", readable_by=alice)) == ["a", "b"]
    both = frozenset({"user:alice", "group:staff"})
    page = fetch(engine, "_sort=n&_count=true", readable_by=both, limit=2)
    assert ids(page) == ["a", "b"]
    assert page.total == 3
    assert fetch_all(engine, "_sort=n", readable_by=both, limit=1) == ["a", "b", "c"]
    assert ids(fetch(engine, "_sort=n", readable_by=None)) == ["a", "b", "c", "d", "e"]
    nobody = fetch(engine, "_count=true", readable_by=frozenset())
    assert (nobody.records, nobody.total) == ([], 0)
    assert ids(fetch(engine, f"_since={BASE_TIME}&_sort=id", readable_by=alice)) == ["a", "b", "f"]
    assert ids(fetch(engine, "n__gt=1", readable_by=frozenset({"user:bob"}))) == ["d"]


def test_another_collection_is_never_listed(engine, docs):
    add_collection(engine, "others")
    insert(engine, "others", [Doc("r01", {"price": 10}), Doc("x", {"price": 10})])
    assert ids(fetch(engine, "price=10&_sort=id", "others")) == ["r01", "x"]
    assert ids(fetch(engine, "price=10&_sort=id")) == ["r01", "r14"]


def test_a_cursor_is_refused_on_another_query_or_collection_or_when_edited(engine, docs):
    first = fetch(engine, "price__gt=0&_sort=price", limit=2)
    cursor = first.next_cursor
    assert cursor
    # Same query, another page size or projection, filters in another order: accepted.
    assert ids(fetch(engine, f"_sort=price&price__gt=0&_cursor={cursor}"))
    assert ids(fetch(engine, f"price__gt=0&_sort=price&_limit=1&_fields=name&_cursor={cursor}"))
    for other in (
        "price__gt=1&_sort=price",
        "price__gt=0&_sort=-price",
        "price__gt=0",
        "price__gt=0&_sort=price&name=apple",
        "price__gt=0&_sort=price&_since=1",
    ):
        with pytest.raises(ProblemError) as raised:
            parse(f"{other}&_cursor={cursor}")
        assert raised.value.problem["errors"][0]["name"] == "_cursor"
    with pytest.raises(ProblemError):
        parse(f"price__gt=0&_sort=price&_cursor={cursor}", cid="others")
    with pytest.raises(ProblemError):
        parse(f"price__gt=0&_sort=price&_cursor={cursor}", secret=b"another secret")
    payload, mac = cursor.split(".")
    for forged in (
        payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + mac,
        payload + "." + mac[::-1],
        payload,
        "",
        "a.b.c",
        "!!!.***",
    ):
        with pytest.raises(ProblemError) as raised:
            parse(f"price__gt=0&_sort=price&_cursor={forged}")
        assert raised.value.problem["errors"] == [
            {
                "location": "querystring",
                "name": "_cursor",
                "message": "is not a cursor this API returned for this query",
            }
        ]


def test_injection_attempts_are_values_or_refused_paths(engine, docs):
    hostile = "x' OR '1'='1'; DROP TABLE benben_records; --"
    assert ids(fetch(engine, {"name": hostile})) == []
    assert ids(fetch(engine, {"name__in": hostile + "," + hostile})) == []
    assert ids(fetch(engine, {"id": hostile})) == []
    assert ids(fetch(engine, {"name__startswith": "'"})) == []
    assert ids(fetch(engine, {"name__contains": "%"})) == ["r12"]
    insert(engine, "things", [Doc("evil", {"name": hostile, "a'b": 1})])
    assert ids(fetch(engine, {"name": hostile})) == ["evil"]
    for name in ("a'b", 'a"b', "price) OR (1=1", "price;--", "price->>0", "$.price", "p r"):
        with pytest.raises(ProblemError) as raised:
            parse({name: "1"})
        assert raised.value.problem["errors"][0]["name"] == name
    with pytest.raises(ProblemError):
        parse({"_sort": "price'--"})
    with Session(engine) as session, pytest.raises(ValueError, match="collection id"):
        fetch_page(session, "x' OR 1=1 --", parse(""), readable_by=None)
    assert inspect(engine).has_table("benben_records")
    assert len(ids(fetch(engine, "_limit=1000"))) == 16


def test_numbers_compare_exactly_and_big_ones_do_not_fail(engine):
    insert(
        engine,
        "things",
        [
            Doc("big", {"n": 12345678901234567}),
            Doc("small", {"n": 1e-7}),
            Doc("neg", {"n": -2.5}),
            Doc("int", {"n": 3}),
        ],
    )
    assert ids(fetch(engine, "n=1e-7")) == ["small"]
    assert ids(fetch(engine, "n=3.0")) == ["int"]
    assert ids(fetch(engine, "n__gt=12345678901234566")) == ["big"]
    assert ids(fetch(engine, "n__lt=9.9e28&_sort=n")) == [
        "neg",
        "small",
        "int",
        "big",
    ]
    assert ids(fetch(engine, "n__lt=-1e300")) == []
    assert fetch_all(engine, "_sort=-n", limit=1) == ["big", "int", "small", "neg"]
