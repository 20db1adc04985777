"""SQLite's full-text search plans and upkeep: a frequent word's records walked in the page's
order and tested against the matches, a rare word's matches read and sorted (the same pages
either way, with every other list feature); the update trigger writing the FTS5 row again only
when the searchable text changes; the fast path of the tokenizer giving tokens() exactly."""

from __future__ import annotations

import random

import pytest
from data_support import COLLECTIONS, record_url, records_url
from sqlalchemy import text
from sqlalchemy.dialects import sqlite

from benben.data import search_sqlite, search_tokens, sql
from benben.data.query import parse_list_query
from benben.db import get_engine

SQLITE = pytest.mark.parametrize("backends", [("sqlite", "memory")], indirect=True, ids=["sqlite"])

WORDS = ["cat", "dog", "bird", "fish"]


def make_collection(app, user, cid, fields=("title",)):
    body = {"id": cid, "searchable_fields": list(fields), "search_language": "english"}
    app.post_json(COLLECTIONS, body, headers=user.headers, status=201)


def put(app, user, cid, rid, data, **body):
    app.put_json(record_url(cid, rid), {"data": data, **body}, headers=user.headers)


@pytest.fixture
def walks(monkeypatch):
    """Records each page's plan: True where the records were walked in order."""
    plans: list[bool] = []
    statements = sql.list_statements

    def recording(dialect, collection_id, query, **kwargs):
        if query.search is not None:
            plans.append(kwargs.get("walk_matches", False))
        return statements(dialect, collection_id, query, **kwargs)

    monkeypatch.setattr(sql, "list_statements", recording)
    return plans


def threshold(monkeypatch, matches):
    monkeypatch.setattr(search_sqlite, "FREQUENT_MATCHES", matches)
    monkeypatch.setattr(sql, "FREQUENT_MATCHES", matches)


@pytest.fixture
def pets(app, alice, bob):
    """40 records: cat in most titles; bob may read one in three."""
    make_collection(app, alice, "pets")
    grants = {"permissions": {"create": [bob.principal]}}  # lists what grants bob read
    app.patch_json(f"{COLLECTIONS}/pets", grants, headers=alice.headers)
    rng = random.Random(19)
    for n in range(40):
        title = " ".join(rng.choice(WORDS) for _ in range(3)) + (" cat" if n % 5 else "")
        permissions = {"read": [bob.principal]} if n % 3 == 0 else {}
        put(app, alice, "pets", f"p{n:02d}", {"title": title, "n": n}, permissions=permissions)


def every_page(app, user, params):
    """The ids of every page of the list, the total, and the plans of the pages."""
    url, found, total = records_url("pets"), [], None
    query = {"_limit": "3", **params}
    while url:
        page = app.get(url, query, headers=user.headers)
        found += [
            (r["id"], r.get("deleted", False), r.get("search", {}).get("rank"))
            for r in page.json["data"]
        ]
        total = page.headers.get("Total-Records", total)
        url, query = page.json["next"], None
    return found, total


LISTS = [
    {"_q": "cat"},
    {"_q": "cat", "_sort": "last_modified"},
    {"_q": "cat", "_sort": "-id", "_count": "true"},
    {"_q": "cat -dog"},
    {"_q": "cat", "n__ge": "20"},
    {"_q": "cat", "_sort": "n"},
    {"_q": "cat", "_sort": "-_rank"},
    {"_q": "bird or fish", "_count": "true"},
]


@SQLITE
@pytest.mark.parametrize(
    "params", LISTS, ids=lambda params: "&".join(f"{k}={v}" for k, v in params.items())
)
def test_walked_and_sorted_matches_give_the_same_pages(
    app, alice, bob, pets, walks, monkeypatch, params
):
    answers = {}
    for matches in (1, 10**9):  # every search frequent, then none
        threshold(monkeypatch, matches)
        walks.clear()
        answers[matches] = [every_page(app, user, params) for user in (alice, bob)]
        walked = any(walks)
        index_sorted = params.get("_sort", "-last_modified").lstrip("-") in ("last_modified", "id")
        assert walked == (matches == 1 and index_sorted), walks
    assert answers[1] == answers[10**9]
    (found, _), (bobs, _) = answers[1]
    assert found
    assert 0 < len(bobs) < len(found)


@SQLITE
def test_the_walk_sees_deletions_since(app, alice, pets, walks, monkeypatch):
    since = app.get(records_url("pets"), {"_limit": "1"}, headers=alice.headers).json["data"][0]
    app.delete(record_url("pets", "p01"), headers=alice.headers)
    put(app, alice, "pets", "p02", {"title": "cat cat"})
    threshold(monkeypatch, 1)
    changes = app.get(records_url("pets"), {"_q": "cat", "_since": str(since["last_modified"])},
                      headers=alice.headers).json["data"]  # fmt: skip
    assert [(r["id"], r.get("deleted", False)) for r in changes] == [("p02", False), ("p01", True)]
    assert walks == [False, True]


@SQLITE
def test_matches_are_counted_in_the_collection_only(app, alice, walks, monkeypatch):
    make_collection(app, alice, "many")
    make_collection(app, alice, "few")
    for n in range(6):
        put(app, alice, "many", f"m{n}", {"title": "cat"})
    put(app, alice, "few", "f", {"title": "cat"})
    for n in range(20):
        put(app, alice, "few", f"d{n}", {"title": "dog"})
    threshold(monkeypatch, 3)
    app.get(records_url("few"), {"_q": "cat"}, headers=alice.headers)
    assert walks == [False]
    walks.clear()
    app.get(records_url("many"), {"_q": "cat"}, headers=alice.headers)
    assert walks == [False, True]


def plan(app, walk):
    query = parse_list_query({"_q": "cat"}, default_limit=20, max_limit=100, secret=b"s" * 32,
                             collection_id="pets", searchable_fields=["title"],
                             search_language="english")  # fmt: skip
    page = sql.list_statements("sqlite", "pets", query, readable_by=None, walk_matches=walk).page
    compiled = page.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    with get_engine(app.app.registry).connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    return " / ".join(row[3] for row in rows)


@SQLITE
def test_the_walk_reads_the_collection_index_in_order(app, alice, pets):
    walked = plan(app, walk=True)
    assert "USING INDEX ix_benben_records_collection_modified" in walked
    assert "USE TEMP B-TREE FOR ORDER BY" not in walked  # the index's order, no sort of all
    sorted_matches = plan(app, walk=False)
    assert "SEARCH benben_records USING INTEGER PRIMARY KEY" in sorted_matches
    assert "USE TEMP B-TREE FOR ORDER BY" in sorted_matches


def fts_segments(app):
    with get_engine(app.app.registry).connect() as connection:
        return connection.execute(text("SELECT count(*) FROM benben_record_search_data")).scalar()


@SQLITE
def test_updates_index_again_only_when_the_text_changes(app, alice):
    make_collection(app, alice, "books", ("title", "tags"))
    put(app, alice, "books", "b", {"title": "Cats", "tags": ["red"], "year": 2001})
    segments = fts_segments(app)
    put(app, alice, "books", "b", {"title": "Cats", "tags": ["red"], "year": 2002})
    app.patch_json(record_url("books", "b"), {"permissions": {"read": ["system.Everyone"]}},
                   headers=alice.headers)  # fmt: skip
    assert fts_segments(app) == segments  # no transaction wrote the FTS5 table
    found = app.get(records_url("books"), {"_q": "cat"}, headers=alice.headers).json["data"]
    assert [r["data"]["year"] for r in found] == [2002]
    put(app, alice, "books", "b", {"title": "Cats", "tags": ["blue"], "year": 2002})
    assert fts_segments(app) > segments
    assert app.get(records_url("books"), {"_q": "blue"}, headers=alice.headers).json["data"]
    assert not app.get(records_url("books"), {"_q": "red"}, headers=alice.headers).json["data"]
    app.delete(record_url("books", "b"), headers=alice.headers)
    assert not app.get(records_url("books"), {"_q": "cat"}, headers=alice.headers).json["data"]


@SQLITE
def test_the_fts5_table_merges_less_often(app):
    with get_engine(app.app.registry).connect() as connection:
        config = dict(
            connection.execute(text("SELECT k, v FROM benben_record_search_config")).all()
        )
    assert (config.get("automerge"), config.get("crisismerge")) == (16, 64)


@pytest.mark.parametrize("language", ["english", "simple"])
def test_plain_ascii_words_give_the_tokenizers_tokens(language, monkeypatch):
    monkeypatch.setattr(search_tokens, "_LEXICON_SIZE", 50)  # cleared many times over
    search_tokens._lexicon.cache_clear()
    rng = random.Random(7)
    alphabet = "abcXYZ019 .,;:!?'\"-+/@<>&#_=%~()[]{}*\t\n"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    texts += ["The cats. Running dogs, 3 birds!", "a" * 3000 + " cat", "end.Next cat", "x_y z"]
    try:
        wrong = [t for t in texts if search_tokens.lexemes(t, language)
                 != [token.token for token in search_tokens.tokens(t, language)]]  # fmt: skip
    finally:
        search_tokens._lexicon.cache_clear()
    assert wrong == []
    assert search_tokens.lexemes("Running cats, the dogs.", "english") == [
        "run",
        "cat",
        "\ue000",
        "dog",
    ]
