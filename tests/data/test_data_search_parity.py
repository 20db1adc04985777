"""PostgreSQL and SQLite find the same records for the shared search table (search_cases.py).

The engines alone, without the API: PostgreSQL's ``to_tsvector(language, document) @@
websearch_to_tsquery(language, q)`` over a temporary table, and SQLite's FTS5 over
``document_text`` matched with ``fts5_query``; both must give the table's expected ids. Then
the normalisation itself: ``document_text``'s tokens are PostgreSQL's lexemes, at PostgreSQL's
positions, for the kinds of text docs/search.md documents.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from search_cases import CASES, CORPUS, LANGUAGE, SEARCHABLE_FIELDS, SIMPLE_CASES
from sqlalchemy import Connection, create_engine, text

from benben.data.search_text import document_text, fts5_query
from benben.testing_services import require_postgresql

ALL_CASES = [(LANGUAGE, q, ids) for q, ids in CASES] + [
    ("simple", q, ids) for q, ids in SIMPLE_CASES
]


def searchable_values(record: dict[str, Any]) -> list[str]:
    """The strings of the searchable fields, arrays' strings included, as the API indexes."""
    values: list[str] = []
    for field in SEARCHABLE_FIELDS:
        value = record.get(field)
        if isinstance(value, str):
            values.append(value)
        elif isinstance(value, list):
            values += [item for item in value if isinstance(item, str)]
    return values


@pytest.fixture(scope="module")
def postgresql() -> Iterator[Connection]:
    engine = create_engine(require_postgresql())
    with engine.connect() as connection:
        connection.execute(text("CREATE TEMPORARY TABLE search_parity (id text, document text)"))
        connection.execute(
            text("INSERT INTO search_parity VALUES (:id, :document)"),
            [
                {"id": id_, "document": " ".join(searchable_values(record))}
                for id_, record in CORPUS.items()
            ],
        )
        yield connection
    engine.dispose()


@pytest.fixture(scope="module")
def sqlite() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE VIRTUAL TABLE search_parity USING fts5"
        "(id UNINDEXED, language UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 0')"
    )
    connection.executemany(
        "INSERT INTO search_parity VALUES (?, ?, ?)",
        [
            (id_, language, document_text(searchable_values(record), language))
            for language in (LANGUAGE, "simple")
            for id_, record in CORPUS.items()
        ],
    )
    yield connection
    connection.close()


def postgresql_hits(connection: Connection, language: str, q: str) -> set[str]:
    rows = connection.execute(
        text(
            "SELECT id FROM search_parity WHERE "
            "to_tsvector(CAST(:language AS regconfig), document) @@ "
            "websearch_to_tsquery(CAST(:language AS regconfig), :q)"
        ),
        {"language": language, "q": q},
    )
    return {row.id for row in rows}


def sqlite_hits(connection: sqlite3.Connection, language: str, q: str) -> set[str]:
    expression = fts5_query(q, language)
    if expression is None:
        return set()
    rows = connection.execute(
        "SELECT id FROM search_parity WHERE search_parity MATCH ? AND language = ?",
        (expression, language),
    )
    return {id_ for (id_,) in rows}


@pytest.mark.parametrize(("language", "q", "expected"), ALL_CASES)
def test_both_engines_find_the_expected_records(
    postgresql: Connection, sqlite: sqlite3.Connection, language: str, q: str, expected: set[str]
) -> None:
    assert postgresql_hits(postgresql, language, q) == expected, "PostgreSQL"
    assert sqlite_hits(sqlite, language, q) == expected, "SQLite"
