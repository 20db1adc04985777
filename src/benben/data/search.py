"""Full-text search of a collection's records (``_q``): its SQL on both backends, the text a
record's searchable fields hold, highlights.

A collection declares ``searchable_fields`` (dotted paths; a string is searched, an array its
strings, any other JSON type nothing) and a ``search_language``.  A record's *text* is those
strings joined by spaces, in the declared order.  The words of the text and of the query are
PostgreSQL's (parser, stop words, Snowball stems); SQLite reproduces them in Python
(:mod:`.search_text`), so that a query finds the same records on both.

- PostgreSQL: each record's ``search_vector``, which a trigger (migration 0008) keeps as
  ``to_tsvector('<language>'::regconfig, benben_search_text(data, '{<paths>}'))``, matched
  ``@@ websearch_to_tsquery('<language>', :q)`` and ranked by ``ts_rank`` of the same two; the
  collection's partial GIN index on the column (:mod:`.search_index`) answers the match.  While
  a declaration change is being applied to the column (:mod:`.search_postgresql`), the
  expression is evaluated row by row instead: slower, never different.
- SQLite: the FTS5 table ``benben_record_search`` holds each live searchable record's text as
  :func:`~.search_text.document_text` makes it, under the records row's rowid (a rowid that
  VACUUM keeps: the records table's rowids are reused by nothing else).  Triggers keep it in the
  writing transaction (migration 0008), calling ``benben_search_document``, registered here on
  every connection of the app's engine.  The query is :func:`~.search_text.fts5_query`'s
  translation, ranked by ``-bm25()`` (higher is better on both backends; the scales differ).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Double,
    Engine,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    cast,
    column,
    event,
    false,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.sql.expression import Join

from benben.data.jsonkeys import collection_is, const
from benben.data.query_params import parse_field_path
from benben.data.search_sqlite import frequency_probe
from benben.data.search_text import SEARCH_LANGUAGES, document_text, fts5_query, highlight

__all__ = [
    "DEFAULT_LANGUAGE",
    "DOCUMENT_FUNCTION",
    "SEARCH_TABLE",
    "Search",
    "SearchSQL",
    "field_strings",
    "highlights",
    "install_sqlite_functions",
    "postgresql_vector",
    "search_document",
    "search_json",
]

SEARCH_TABLE = "benben_record_search"
DOCUMENT_FUNCTION = "benben_search_document"
VALUES_FUNCTION = "benben_search_values"
DEFAULT_LANGUAGE = "simple"
# Highlighted fragments per searchable field.
HIGHLIGHT_FRAGMENTS = 2


@dataclass(frozen=True)
class Search:
    """A list query's ``_q``, with the collection's declaration it searches."""

    text: str
    language: str
    fields: tuple[str, ...]
    highlight: bool = False
    # PostgreSQL: the records' stored search_vector is ready for this declaration (see
    # search_postgresql.py); else each record's vector is computed from its data.
    stored: bool = False


# -- the text of a record ---------------------------------------------------------------------


def field_strings(data: Any, path: Sequence[str]) -> list[str]:
    """The strings a searchable field contributes: its string, or its array's strings."""
    value = data
    for segment in path:
        value = value.get(segment) if isinstance(value, dict) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


@functools.lru_cache(maxsize=1024)
def _paths(fields_json: str) -> tuple[tuple[str, ...], ...]:
    """A declaration's paths, from the JSON a collection row stores (validated when declared)."""
    fields = json.loads(fields_json)
    return tuple(tuple(field.split(".")) for field in fields if isinstance(field, str))


def search_values(data_json: Any, fields_json: Any) -> str | None:
    """SQLite's ``benben_search_values(data, searchable_fields)``: the searchable values joined,
    what the record's text is made of (the update trigger indexes again only when it changed)."""
    if not isinstance(data_json, str) or not isinstance(fields_json, str):
        return None
    data = json.loads(data_json)
    return " ".join(text for path in _paths(fields_json) for text in field_strings(data, path))


def search_document(data_json: Any, fields_json: Any, language: Any) -> str:
    """SQLite's ``benben_search_document(data, searchable_fields, search_language)``: what the
    FTS5 table holds for a record (its data and the collection's declaration as stored)."""
    if not isinstance(data_json, str) or not isinstance(fields_json, str):
        return ""
    data = json.loads(data_json)
    values = [text for path in _paths(fields_json) for text in field_strings(data, path)]
    if language not in SEARCH_LANGUAGES:  # refused when declared: a row edited by hand
        language = DEFAULT_LANGUAGE
    return document_text(values, language)


def install_sqlite_functions(engine: Engine) -> None:
    """Register ``benben_search_document`` and ``benben_search_values`` on every connection
    ``engine`` opens (the search triggers call them; SQLite prepares them with every write to
    the records table)."""
    if engine.dialect.name != "sqlite":
        return

    def register(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function(DOCUMENT_FUNCTION, 3, search_document, deterministic=True)
        dbapi_connection.create_function(VALUES_FUNCTION, 2, search_values, deterministic=True)

    event.listen(engine, "connect", register)
    # Connections opened before (none, as the app is configured): closed, to open anew.
    engine.pool.dispose()


# -- PostgreSQL -------------------------------------------------------------------------------


def _checked_language(language: str) -> str:
    if language not in SEARCH_LANGUAGES:  # also what makes it safe as a literal
        raise ValueError(f"unknown search language {language!r}")
    return language


def _paths_literal(fields: Iterable[str]) -> str:
    """``'{a,b.c}'``: an array literal of the paths (segments validated: nothing to quote)."""
    return "'{" + ",".join(".".join(parse_field_path(field)) for field in fields) + "}'"


def postgresql_vector(fields: Sequence[str], language: str, data: str = "data") -> str:
    """The tsvector of a record's text, as SQL: what the index holds and the query matches
    (``data``: how the records' data column is named there)."""
    return (
        f"to_tsvector('{_checked_language(language)}'::regconfig, "
        f"benben_search_text({data}, {_paths_literal(fields)}::text[]))"
    )


# -- the query --------------------------------------------------------------------------------


def _rowid(records: Table) -> ColumnElement[Any]:
    return literal_column(f"{records.name}.rowid", Integer)


class SearchSQL:
    """The SQL of one search on one backend, for the records table ``records``:

    - ``condition``: the records matching (``false()`` when the query searches no word);
    - ``rank``: the relevance of a row, for sorting (None until :meth:`ranked` asked for it);
    - ``join``: on SQLite, when sorting by relevance, the FROM that carries the rank: the
      matches drive the query instead of the condition, which is then left out.
    """

    def __init__(
        self,
        dialect: str,
        records: Table,
        collection_id: str,
        search: Search,
        tombstones: bool,
        *,
        walk: bool = False,
    ) -> None:
        self.dialect = dialect
        self.records = records
        self.collection_id = collection_id
        self.search = search
        self.tombstones = tombstones
        self.join: Join | None = None
        self.rank: ColumnElement[Any] | None = None
        if dialect == "postgresql":
            self.condition = self._vector().op("@@", return_type=Boolean)(self._tsquery())
            return
        self._fts_query = fts5_query(search.text, search.language)
        # walk: the matches' rowids a set each row is tested against ("+": not a rowid lookup),
        # so that the records are read in the page's order through the collection's indexes.
        rowid = literal_column(f"+{records.name}.rowid", Integer) if walk else _rowid(records)
        self.condition = (
            false()
            if self._fts_query is None
            else rowid.in_(select(self._fts.c.rowid).where(self._match()))
        )

    # PostgreSQL

    def _vector(self) -> ColumnElement[Any]:
        if self.search.stored:
            return self.records.c.search_vector
        sql = postgresql_vector(
            self.search.fields, self.search.language, f"{self.records.name}.data"
        )
        return literal_column(sql)

    def _tsquery(self) -> ColumnElement[Any]:
        language = const(f"'{_checked_language(self.search.language)}'::regconfig")
        text = bindparam(None, self.search.text, type_=String())
        return func.websearch_to_tsquery(language, text)

    def _postgresql_rank(self) -> ColumnElement[Any]:
        # float8: exactly what the cursor carries back (a real printed shortest is not).
        return cast(func.ts_rank(self._vector(), self._tsquery()), Double())

    # SQLite

    @functools.cached_property
    def _fts(self) -> Any:
        return table(SEARCH_TABLE, column("rowid", Integer))

    def _match(self) -> ColumnElement[bool]:
        query = bindparam(None, self._fts_query, type_=String())
        return literal_column(SEARCH_TABLE).op("MATCH", return_type=Boolean)(query)

    def _bm25_rank(self) -> ColumnElement[Any]:
        return -func.bm25(literal_column(SEARCH_TABLE), type_=Double())

    def match_probe(self) -> Select[Any] | None:
        """SQLite, unless the matches drive the query (relevance sort): how many records of the
        collection match, counted up to :data:`~.search_sqlite.FREQUENT_MATCHES`."""
        if self.dialect != "sqlite" or self._fts_query is None or self.join is not None:
            return None
        return frequency_probe(self.records, self.collection_id, SEARCH_TABLE, self._match())

    # both

    def ranked(self) -> ColumnElement[Any]:
        """The rank as a sort key (and the FROM it needs: see ``join``)."""
        if self.rank is not None:
            return self.rank
        if self.dialect == "postgresql":
            self.rank = self._postgresql_rank()
        elif self._fts_query is None:
            self.rank = const("0.0")
        elif self.tombstones:
            # Tombstones are listed too (they have no text): a rank per row, 0 for them.
            per_row = (
                select(self._bm25_rank())
                .where(self._match(), self._fts.c.rowid == _rowid(self.records))
                .scalar_subquery()
            )
            self.rank = func.coalesce(per_row, const("0.0"))
        else:
            matches = (
                select(
                    self._fts.c.rowid.label("search_rowid"),
                    self._bm25_rank().label("search_rank"),
                )
                .where(self._match())
                .subquery("search_matches")
            )
            self.join = self.records.join(matches, _rowid(self.records) == matches.c.search_rowid)
            self.rank = matches.c.search_rank
        return self.rank

    def row_key(self) -> ColumnElement[Any]:
        """What :meth:`ranks_of` needs of each row of a page: its id, or on SQLite its rowid."""
        if self.dialect == "postgresql":
            return self.records.c.id
        return _rowid(self.records)

    def ranks_of(self, keys: Sequence[Any]) -> Select[Any] | None:
        """``(key, rank)`` of the page's rows (``keys``: their :meth:`row_key`), when the rank
        is not a sort key: one statement for the page, not a rank per matching row."""
        if not keys:
            return None
        if self.dialect == "postgresql":
            return select(self.records.c.id, self._postgresql_rank()).where(
                collection_is(self.records, self.collection_id), self.records.c.id.in_(keys)
            )
        if self._fts_query is None:
            return None
        # "+ 0": not a rowid constraint, which FTS5 would answer by one search per rowid.
        return select(self._fts.c.rowid, self._bm25_rank()).where(
            self._match(), (self._fts.c.rowid + const("0")).in_(list(keys))
        )


def highlights(data: Any, search: Search) -> dict[str, list[str]]:
    """``{field: fragments}``: the searchable fields where a searched word appears, each with up
    to HIGHLIGHT_FRAGMENTS fragments (HTML-escaped, words in ``<mark>``)."""
    result: dict[str, list[str]] = {}
    for field in search.fields:
        fragments: list[str] = []
        for text in field_strings(data, field.split(".")):
            remaining = HIGHLIGHT_FRAGMENTS - len(fragments)
            if remaining <= 0:
                break
            fragments += highlight(text, search.text, search.language, fragments=remaining)
        if fragments:
            result[field] = fragments
    return result


def search_json(rank: float | None, search: Search, data: Mapping[str, Any] | None) -> Any:
    """A listed record's ``search`` member."""
    member: dict[str, Any] = {"rank": rank if rank is not None else 0.0}
    if search.highlight:
        member["highlights"] = highlights(data, search)
    return member
