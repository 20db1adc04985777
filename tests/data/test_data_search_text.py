"""benben.data.search_text: the text SQLite's FTS5 stores and matches, and highlights."""

from __future__ import annotations

import sqlite3

import pytest

from benben.data.search_text import (
    ALL_TOKEN,
    SEARCH_LANGUAGES,
    document_text,
    fts5_query,
    highlight,
)
from benben.data.search_tokens import STOP_TOKEN


def test_languages_are_simple_and_snowballs() -> None:
    assert SEARCH_LANGUAGES[0] == "simple"
    assert {"english", "french", "german", "russian", "spanish"} <= set(SEARCH_LANGUAGES)


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="klingon"):
        document_text(["x"], "klingon")


def test_document_text_stems_lowers_and_keeps_stop_words_places() -> None:
    assert document_text(["The Cats were RUNNING"], "english") == (
        f"{ALL_TOKEN} {STOP_TOKEN} cat {STOP_TOKEN} run"
    )
    assert document_text(["The Cats", "RUNNING"], "simple") == f"{ALL_TOKEN} the cats running"


def test_document_text_of_nothing_still_matches_exclusions() -> None:
    assert document_text([], "english") == ALL_TOKEN


def test_accents_are_kept() -> None:
    assert document_text(["Café"], "simple") == f"{ALL_TOKEN} café"


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("cat", '("cat")'),
        ("the cat", '("cat")'),
        ('"cat on the mat"', f'("cat {STOP_TOKEN} {STOP_TOKEN} mat")'),
        ("-cat", f'(("{ALL_TOKEN}") NOT ("cat"))'),
        ("cat or dog -bird", '("cat") OR (("dog") NOT ("bird"))'),
        ("--cat", '("cat")'),
        ("cat or", '("cat")'),
        ('cat"dog"', '("cat" AND "dog")'),
    ],
)
def test_fts5_query_follows_websearch_to_tsquery(q: str, expected: str) -> None:
    assert fts5_query(q, "english") == expected


@pytest.mark.parametrize("q", ["", "the", '""', "-", "- the", "or", "&|!()<", '"'])
def test_a_query_without_a_searchable_term_is_none(q: str) -> None:
    assert fts5_query(q, "english") is None


@pytest.mark.parametrize(
    "q",
    ['"', 'a"b', "NEAR(a b)", "a AND b", "x*", "^x", "col:x", "{a b}", "a + b", "'", "\\", "\x01"],
)
def test_user_input_is_never_fts5_syntax(q: str) -> None:
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'unicode61 remove_diacritics 0')"
    )
    connection.execute(
        "INSERT INTO t VALUES (?)", (document_text(["a b x col near and"], "simple"),)
    )
    expression = fts5_query(q, "simple")
    if expression is not None:
        connection.execute("SELECT rowid FROM t WHERE t MATCH ?", (expression,)).fetchall()


def test_highlight_marks_matches_and_escapes() -> None:
    assert highlight("<b>Cats</b> & dogs", "cat", "english") == [
        "&lt;b&gt;<mark>Cats</mark>&lt;/b&gt; &amp; dogs"
    ]


def test_highlight_ignores_excluded_terms_and_finds_nothing() -> None:
    assert highlight("cats and dogs", "-cat", "english") == []
    assert highlight("cats and dogs", "bird", "english") == []


def test_highlight_cuts_long_text_into_fragments() -> None:
    text = " ".join(["filler"] * 100 + ["needle"] + ["filler"] * 100 + ["needle"] + ["end"] * 50)
    fragments = highlight(text, "needle", "english", fragments=2, width=10)
    assert len(fragments) == 2
    for fragment in fragments:
        assert fragment.startswith("…")
        assert fragment.endswith("…")
        assert "<mark>needle</mark>" in fragment
        assert len(fragment.split()) <= 12
