"""SQLite's search text is PostgreSQL's: for ordinary text in several languages, the lexemes
``document_text`` stores, at their positions, are exactly those of PostgreSQL's
``to_tsvector(language, text)`` (the parser's words, stop words' positions kept, Snowball
stems). The inputs that docs/search.md lists as tokenized or stemmed differently are left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, create_engine, text

from benben.data.search_text import document_text
from benben.data.search_tokens import STOP_TOKEN, _alphabet
from benben.testing_services import require_postgresql

# (language, text): sentences as records hold them.
ORDINARY = [
    ("english", "The cats were sitting on the mats, watching birds fly by."),
    ("english", "Running shoes: we ran 500 kilometres in twelve pairs!"),
    ("english", "A well-known recipe for self-driving cars, version 2.5 (beta)."),
    ("english", "Don't panic; O'Brien's notes say 3.14 is close to pi."),
    ("english", "Indexes make queries fast; indexing costs writes and storage."),
    ("english", "COVID-19 vaccination campaigns reached billions in 2021."),
    ("english", "Crème brûlée at the Café de Flore, naïve and façade."),
    ("english", "She said: “quoted” words — and dashes \N{EN DASH} stay words."),
    ("english", "-5 degrees, +3 points, 1,000 people and 22:40 arrivals."),
    ("french", "Les étudiants mangeaient des pommes dans la forêt enneigée."),
    ("french", "L'hôpital accueille les malades depuis des années."),
    ("german", "Die Häuser am Flussufer wurden im Frühling renoviert."),
    ("german", "Straße, Größe und Übermäßigkeit sind schwierige Wörter."),
    ("spanish", "Los niños corrían por las calles mojadas de la ciudad."),
    ("italian", "Gli studenti leggevano libri antichi nella biblioteca."),
    ("dutch", "De kinderen speelden buiten in de regen."),
    ("russian", "Студенты читали старые книги в библиотеке."),
    ("swedish", "Barnen lekte i snön hela eftermiddagen."),
    ("simple", "The Cats were SITTING on the Mats; café, Café and CAFE."),
    ("simple", "Ünïcödé wörds, ΣΟΦΊΑ and İstanbul keep their letters."),
]


def sqlite_lexemes(value: str, language: str) -> dict[str, list[int]]:
    """{lexeme: positions} of what the FTS5 table stores for ``value``."""
    decode = {encoded: chr(code) for code, encoded in _alphabet().fts5_characters.items()}
    _all, *found = document_text([value], language).split(" ")
    positions: dict[str, list[int]] = defaultdict(list)
    for position, token in enumerate(found, start=1):
        if token != STOP_TOKEN:
            positions["".join(decode.get(char, char) for char in token)].append(position)
    return dict(positions)


@pytest.fixture(scope="module")
def postgresql() -> Iterator[Connection]:
    engine = create_engine(require_postgresql())
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def postgresql_lexemes(connection: Connection, value: str, language: str) -> dict[str, list[int]]:
    rows = connection.execute(
        text(
            "SELECT lexeme, positions FROM "
            "unnest(to_tsvector(CAST(:language AS regconfig), :value))"
        ),
        {"language": language, "value": value},
    )
    return {row.lexeme: list(row.positions) for row in rows}


@pytest.mark.parametrize(("language", "value"), ORDINARY)
def test_document_text_holds_postgresqls_lexemes_at_their_positions(
    postgresql: Connection, language: str, value: str
) -> None:
    expected = postgresql_lexemes(postgresql, value, language)
    assert expected  # the input is searchable text
    assert sqlite_lexemes(value, language) == expected


def test_several_values_are_one_text() -> None:
    # A record's fields are joined by spaces: positions run on from one field to the next.
    assert sqlite_lexemes("cats sat", "english") == {"cat": [1], "sat": [2]}
    joined = document_text(["cats", "sat"], "english")
    assert joined == document_text(["cats sat"], "english")
