"""GET .../records?_q=: full-text search through the API, the same hits on both backends.

The shared table (search_cases.py) through the API; search with filters, permissions,
``_fields``, ``_count``, ``_since``; ``_sort=-_rank`` over keyset pages with ties; highlights;
the refusals, and no 500 for any query text.  Declarations and index upkeep:
test_data_search_index.py.
"""

from __future__ import annotations

import pytest
from data_support import COLLECTIONS, pointers, record_url, records_url
from search_cases import CASES, CORPUS, LANGUAGE, SEARCHABLE_FIELDS, SIMPLE_CASES


def ids(response):
    return [record["id"] for record in response.json["data"]]


def search(app, user, cid, q, **params):
    return app.get(records_url(cid), {"_q": q, "_limit": "1000", **params}, headers=user.headers)


def make_collection(app, user, cid, fields=("title",), language="english", **members):
    body = {"id": cid, "searchable_fields": list(fields), "search_language": language, **members}
    return app.post_json(COLLECTIONS, body, headers=user.headers, status=201).json


def put(app, user, cid, rid, data, **body):
    app.put_json(record_url(cid, rid), {"data": data, **body}, headers=user.headers)


@pytest.fixture
def corpus(app, alice):
    """The shared corpus, in an english and in a simple collection."""
    for cid, language in (("corpus", LANGUAGE), ("plain", "simple")):
        make_collection(app, alice, cid, SEARCHABLE_FIELDS, language)
        for rid, data in CORPUS.items():
            put(app, alice, cid, rid, data)


def test_the_shared_table_gives_its_hits_on_both_backends(app, alice, corpus):
    wrong = []
    for cid, cases in (("corpus", CASES), ("plain", SIMPLE_CASES)):
        for q, expected in cases:
            found = sorted(ids(search(app, alice, cid, q)))
            if found != sorted(expected):
                wrong.append((cid, q, found, sorted(expected)))
    assert wrong == []


@pytest.fixture
def books(app, alice):
    make_collection(app, alice, "books", ("title", "tags"))
    for rid, title, tags, year in (
        ("a", "The running cats", ["feline"], 2001),
        ("b", "Dogs run fast", ["cat"], 2002),
        ("c", "Birds", 5, 2003),  # a number holds no text
        ("d", "Cat cat cat", [], 2004),
        ("e", "A dog's life", {"cat": "not text either"}, 2005),
    ):
        put(app, alice, "books", rid, {"title": title, "tags": tags, "year": year})


def test_search_combines_with_filters_fields_count_and_since(app, alice, books):
    assert sorted(ids(search(app, alice, "books", "cat"))) == ["a", "b", "d"]
    assert sorted(ids(search(app, alice, "books", "run"))) == ["a", "b"]  # stems: running
    assert ids(search(app, alice, "books", "cat", year__ge="2002", _sort="year")) == ["b", "d"]
    counted = search(app, alice, "books", "cat -dog", _count="true", _fields="year")
    assert counted.headers["Total-Records"] == "2"
    assert sorted(record["data"]["year"] for record in counted.json["data"]) == [2001, 2004]
    assert all(set(record["data"]) == {"year"} for record in counted.json["data"])
    since = app.get(records_url("books"), headers=alice.headers).json["data"][1]["last_modified"]
    app.delete(record_url("books", "a"), headers=alice.headers)
    changes = search(app, alice, "books", "cat", _since=str(since))
    # Tombstones escape the data filters (the search included), as with every filter.
    assert [(r["id"], r.get("deleted", False)) for r in changes.json["data"]] == [("a", True)]
    assert search(app, alice, "books", "feline").json["data"] == []


def test_only_readable_records_are_found(app, alice, bob, books):
    grants = {"permissions": {"create": [bob.principal]}}
    app.patch_json(f"{COLLECTIONS}/books", grants, headers=alice.headers)
    put(app, alice, "books", "b", {"title": "Dogs run fast", "tags": ["cat"]},
        permissions={"read": [bob.principal]})  # fmt: skip
    put(app, bob, "books", "bobs", {"title": "My cat"})
    assert sorted(ids(search(app, bob, "books", "cat"))) == ["b", "bobs"]
    counted = search(app, bob, "books", "cat", _count="true", _sort="-_rank")
    assert counted.headers["Total-Records"] == "2"
    assert search(app, bob, "books", "birds").json["data"] == []
    assert len(ids(search(app, alice, "books", "cat"))) == 4


def test_every_found_record_has_its_rank(app, alice, books):
    found = search(app, alice, "books", "cat", _sort="-_rank").json["data"]
    ranks = {record["id"]: record["search"]["rank"] for record in found}
    assert ranks["d"] > ranks["a"] > 0  # three times the word
    assert found[0]["id"] == "d"
    # The same ranks read beside another sort.
    by_year = search(app, alice, "books", "cat", _sort="year").json["data"]
    assert {record["id"]: record["search"]["rank"] for record in by_year} == ranks
    assert "search" not in app.get(records_url("books"), headers=alice.headers).json["data"][0]


def test_rank_pages_are_exact_with_ties(app, alice):
    make_collection(app, alice, "ties")
    titles = {f"t{n}": "cat and dog" for n in range(7)}
    titles |= {"top": "cat cat cat", "mid": "cat cat dog", "none": "dog"}
    for rid, title in titles.items():
        put(app, alice, "ties", rid, {"title": title})
    whole = search(app, alice, "ties", "cat", _sort="-_rank").json["data"]
    assert [r["id"] for r in whole[:2]] == ["top", "mid"]
    paged, url = [], records_url("ties") + "?_q=cat&_sort=-_rank&_limit=2"
    while url:
        page = app.get(url, headers=alice.headers).json
        paged += page["data"]
        url = page["next"]
    assert [r["id"] for r in paged] == [r["id"] for r in whole]
    assert len(paged) == 9
    # Ties in last_modified order, newest first (then id), as every sort breaks them.
    tied = [r for r in paged if r["search"]["rank"] == paged[-1]["search"]["rank"]]
    assert len(tied) == 7
    assert tied == sorted(tied, key=lambda r: (r["last_modified"], r["id"]), reverse=True)
    ascending = search(app, alice, "ties", "cat", _sort="_rank", _limit="4")
    assert ids(ascending)[0] in {f"t{n}" for n in range(7)}


def test_highlights_are_escaped_with_marks_only(app, alice):
    make_collection(app, alice, "html", ("title", "notes.text", "tags"))
    data = {
        "title": '<b>Cats</b> & "dogs"',
        "notes": {"text": "no match here"},
        "tags": ["<i>cat</i>", 3, "dog"],
    }
    put(app, alice, "html", "h", data)
    found = search(app, alice, "html", "cat", _highlight="1").json["data"][0]["search"]
    assert found["highlights"] == {
        "title": ["&lt;b&gt;<mark>Cats</mark>&lt;/b&gt; &amp; &quot;dogs&quot;"],
        "tags": ["&lt;i&gt;<mark>cat</mark>&lt;/i&gt;"],
    }
    assert "highlights" not in search(app, alice, "html", "cat").json["data"][0]["search"]
    long = " ".join(["word"] * 100 + ["cat"] + ["word"] * 100)
    put(app, alice, "html", "long", {"title": long})
    (fragment,) = search(app, alice, "html", "cat", _highlight="1", id="long").json["data"][0][
        "search"
    ]["highlights"]["title"]
    assert fragment.startswith("…")
    assert fragment.endswith("…")
    assert "<mark>cat</mark>" in fragment


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"_q": ""}, "_q"),
        ({"_q": "   "}, "_q"),
        ({"_q": "x" * 1001}, "_q"),
        ({"_sort": "-_rank"}, "_sort"),
        ({"_q": "cat", "_highlight": "2"}, "_highlight"),
        ({"_highlight": "1"}, "_highlight"),
        ({"_q": "cat", "_sort": "-_rank,_rank"}, "_sort"),
    ],
)
def test_refusals_name_the_parameter(app, alice, books, params, name):
    response = app.get(records_url("books"), params, headers=alice.headers, status=400)
    assert pointers(response) == [name]


def test_a_collection_without_searchable_fields_refuses_q(app, alice, notes):
    response = app.get(records_url("notes"), {"_q": "cat"}, headers=alice.headers, status=400)
    assert pointers(response) == ["_q"]
    assert "searchable_fields" in response.json["errors"][0]["message"]


def test_a_query_of_stop_words_finds_nothing(app, alice, books):
    assert search(app, alice, "books", "the and of", _count="true").json == {
        "data": [],
        "next": None,
        "total": 0,
    }


FUZZ = [
    '"',
    '"cat',
    'cat"',
    "-",
    "- -",
    "--cat",
    "or",
    "or or",
    "cat or",
    "or cat",
    "cat or or dog",
    "-cat",
    "-cat -dog",
    "(cat)",
    "cat & dog | !bird",
    "cat:*",
    "a <-> b",
    "'",
    "\\",
    "NEAR(cat dog)",
    "cat AND dog NOT bird",
    "^cat",
    "title:cat",
    "*",
    "{cat}",
    "\u00e9t\u00e9 \u00fcber stra\u00dfe",
    "\U0001f408 cat",
    '"" ""',
    '"-cat"',
    "-\"cat dog\" or ''",
    "x" * 1000,
    "cat " * 250,
]


@pytest.mark.parametrize("q", FUZZ)
def test_no_query_text_is_an_error(app, alice, books, q):
    response = search(app, alice, "books", q, _sort="-_rank", _highlight="1", _count="true")
    assert response.status_int == 200
    assert response.json["total"] == len(response.json["data"])
