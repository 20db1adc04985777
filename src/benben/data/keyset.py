"""Keyset pages: the conditions that start a page after the previous page's last row, and the
long text keys a cursor carries as a prefix and a digest, read back whole.

The bound is a row comparison per run of keys sorted the same way, exact because no key is ever
NULL (jsonkeys.py), plus a bound on the first key alone, from which both backends can start an
index range.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_, tuple_
from sqlalchemy.orm import Session

from benben.data.cursor import LongText
from benben.data.models import Record
from benben.data.query import ListQuery

__all__ = ["after_conditions", "whole_texts"]


def after_conditions(
    keys: list[tuple[ColumnElement[Any], bool]], values: list[Any]
) -> list[ColumnElement[bool]]:
    """Rows strictly after ``values`` in the order of ``keys``: a row comparison per run of keys
    sorted the same way (exact, as no key is ever NULL)."""
    groups: list[tuple[bool, list[Any], list[Any]]] = []
    for (expr, descending), value in zip(keys, values, strict=True):
        if groups and groups[-1][0] == descending:
            groups[-1][1].append(expr)
            groups[-1][2].append(value)
        else:
            groups.append((descending, [expr], [value]))

    def row(items: list[Any]) -> Any:
        return tuple_(*items) if len(items) > 1 else items[0]

    clause: ColumnElement[bool] | None = None
    for descending, exprs, vals in reversed(groups):
        beyond = row(exprs) < row(vals) if descending else row(exprs) > row(vals)
        clause = beyond if clause is None else or_(beyond, and_(row(exprs) == row(vals), clause))
    if clause is None:
        raise ValueError("a keyset needs at least one key")
    # A bound on the first key alone, which both backends can start an index range from.
    (first, descending), value = keys[0], values[0]
    return [clause, first <= value if descending else first >= value]


def whole_texts(session: Session, collection_id: str, query: ListQuery) -> tuple[Any, ...]:
    """The cursor's long text keys (see cursor.LongText), read back from the record the
    previous page ended on.  If it has changed since, the prefix bounds the page instead: the
    records sharing that prefix may then be listed again, but none is skipped."""
    keys = query.sort_keys()
    if query.after is None:
        raise ValueError("the query has no cursor")
    record_id = next(v for (_, part, _), v in zip(keys, query.after, strict=True) if part == "id")
    row = session.get(Record, (collection_id, record_id))
    values = []
    for (fld, _, descending), value in zip(keys, query.after, strict=True):
        if isinstance(value, LongText):
            text: Any = row.data if row is not None else None
            for segment in fld.path:
                text = text.get(segment) if isinstance(text, dict) else None
            if value.matches(text):
                value = text
            else:  # every string that starts with the prefix sorts below this bound
                value = value.prefix + ("\U0010ffff" if descending else "")
        values.append(value)
    return tuple(values)
