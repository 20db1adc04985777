"""A ListQuery as SQL statements, and the page they read, the same on PostgreSQL and SQLite.

The terms (filters, sort keys, values) come from sql_terms.py, the next page's bound from
keyset.py.  The page statement orders by the very expressions of a declared field's index
(indexes.py), so that the index yields the filter, the ORDER BY and the next page's start.
Nothing from the request reaches SQL as text: values are bound parameters; field paths and the
collection id are validated literals (see jsonkeys.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import Session

from benben.data.cursor import LongText
from benben.data.jsonkeys import collection_is, const
from benben.data.keyset import after_conditions, whole_texts
from benben.data.models import Record, RecordGrant
from benben.data.query import ListQuery
from benben.data.query_params import RANK
from benben.data.query_statistics import SLOW_PAGE_SECONDS, refresh_if_stale
from benben.data.search import SearchSQL
from benben.data.search_postgresql import with_stored_vectors
from benben.data.search_sqlite import FREQUENT_MATCHES, walks_in_order
from benben.data.sql_terms import Terms

__all__ = ["Page", "Statements", "fetch_page", "list_statements"]

READ_PERMISSIONS = ("read", "write")


@dataclass
class Page:
    records: list[Record]
    next_cursor: str | None
    total: int | None
    # With a search: each record's relevance (None for a tombstone), in the records' order.
    ranks: list[float | None] | None = None


@dataclass
class Statements:
    # The page's rows (one more than the limit), then their sort keys, then with a search what
    # search.ranks_of needs of each.
    page: Select[Any]
    count: Select[Any] | None  # the total, when asked for
    keys: int = 0  # how many sort keys follow each row
    search: SearchSQL | None = None
    rank_key: int | None = None  # which sort key is the search's rank


def list_statements(
    dialect: str,
    collection_id: str,
    query: ListQuery,
    *,
    readable_by: frozenset[str] | None,
    walk_matches: bool = False,
) -> Statements:
    """The SQL of ``query`` on ``dialect`` (``fetch_page`` runs it; tests EXPLAIN it);
    ``walk_matches``: SQLite, the search's matches are many (see search_sqlite.py)."""
    table = Record.__table__
    search = (
        SearchSQL(dialect, table, collection_id, query.search, query.tombstones, walk=walk_matches)
        if query.search is not None
        else None
    )
    terms = Terms(table, dialect, search.ranked if search is not None else None)
    collection: ColumnElement[bool] = collection_is(table, collection_id)
    if dialect == "sqlite":
        # Without statistics SQLite takes "collection_id = x" for a very selective equality, and
        # would rather sort a whole collection than walk a field's (partial) index in order.
        # The term still selects the partial indexes, whose predicate it is.
        collection = func.likelihood(collection, const("0.99"))
    conditions: list[ColumnElement[bool]] = [collection]
    conditions += [terms.condition(f) for f in query.filters if f.field.meta]
    data_filters = [terms.condition(f) for f in query.filters if not f.field.meta]
    if search is not None:
        data_filters.append(search.condition)
    if query.since is not None:
        conditions.append(table.c.last_modified > bindparam(None, query.since, BigInteger()))
    if query.before is not None:
        conditions.append(table.c.last_modified < bindparam(None, query.before, BigInteger()))
    if query.tombstones:
        # A tombstone has no data to filter on: every deletion in the window is reported, and a
        # client drops the ids it holds.
        if data_filters:
            conditions.append(or_(table.c.deleted, and_(*data_filters)))
    else:
        conditions.append(not_(table.c.deleted))
        conditions += data_filters
    if readable_by is not None:
        grants = RecordGrant.__table__
        conditions.append(
            exists().where(
                grants.c.collection_id == table.c.collection_id,
                grants.c.record_id == table.c.id,
                grants.c.permission.in_(READ_PERMISSIONS),
                grants.c.principal.in_(sorted(readable_by)),
            )
            if readable_by
            else false()
        )

    sort_keys = query.sort_keys()
    keys = terms.sort_keys(sort_keys)
    page_conditions = list(conditions)
    if search is not None and search.join is not None:
        # The matches drive the page (and carry the rank): the condition would search again.
        page_conditions = [c for c in conditions if c is not search.condition]
    if query.after is not None:
        kinds = [part for _, part, _ in sort_keys]
        values = [terms.key_param(k, v) for k, v in zip(kinds, query.after, strict=True)]
        page_conditions += after_conditions(keys, values)
    columns = [expr.label(f"k{i}") for i, (expr, _) in enumerate(keys)]
    rank_key = None
    if search is not None:
        parts = [part for _, part, _ in sort_keys]
        rank_key = parts.index(RANK) if RANK in parts else None
        columns.append(search.row_key().label("search_key"))
    page = select(Record, *columns)
    if search is not None and search.join is not None:
        page = page.select_from(search.join)
    page = (
        page.where(*page_conditions)
        .order_by(*(expr.desc() if descending else expr.asc() for expr, descending in keys))
        .limit(query.limit + 1)
    )
    count = select(func.count()).select_from(table).where(*conditions) if query.count else None
    return Statements(page, count, len(keys), search, rank_key)


def fetch_page(
    session: Session,
    collection_id: str,
    query: ListQuery,
    *,
    readable_by: frozenset[str] | None,
) -> Page:
    """One page of ``query``; ``readable_by`` None: the caller reads the whole collection, else
    only records granting read or write to one of these principals."""
    if readable_by is not None and not readable_by:
        return Page([], None, 0 if query.count else None)
    dialect = session.get_bind().dialect.name
    if query.after is not None and any(isinstance(v, LongText) for v in query.after):
        query = replace(query, after=whole_texts(session, collection_id, query))
    if query.search is not None and dialect == "postgresql":
        query = replace(query, search=with_stored_vectors(session, collection_id, query.search))
    statements = list_statements(dialect, collection_id, query, readable_by=readable_by)
    probe = statements.search.match_probe() if statements.search is not None else None
    if (
        probe is not None
        and walks_in_order(query.sort_keys())
        and session.execute(probe).scalar_one() >= FREQUENT_MATCHES
    ):
        statements = list_statements(
            dialect, collection_id, query, readable_by=readable_by, walk_matches=True
        )
    started = time.perf_counter()
    rows = session.execute(statements.page).all()
    if time.perf_counter() - started > SLOW_PAGE_SECONDS:
        refresh_if_stale(session, collection_id)  # the next pages are planned on fresh ones
    next_cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        next_cursor = query.cursor_for(tuple(rows[-1])[1 : 1 + statements.keys])
    total = None
    if statements.count is not None:
        total = session.execute(statements.count).scalar_one()
    records = [row[0] for row in rows]
    return Page(records, next_cursor, total, _ranks(session, statements, rows))


def _ranks(session: Session, statements: Statements, rows: list[Any]) -> list[float | None] | None:
    """Each listed record's relevance to the search: read with the page when it sorts on it,
    else by one more statement for the page's rows only."""
    search = statements.search
    if search is None:
        return None
    if statements.rank_key is not None:
        column = 1 + statements.rank_key
        return [None if row[0].deleted else float(row[column]) for row in rows]
    keys = [row[-1] for row in rows if not row[0].deleted]
    ranks_statement = search.ranks_of(keys)
    found = {} if ranks_statement is None else dict(session.execute(ranks_statement).all())
    return [None if row[0].deleted else float(found.get(row[-1], 0.0)) for row in rows]
