"""A ListQuery as SQL, with the same answers on PostgreSQL and SQLite.

Every data field a query touches is three total expressions (jsonkeys.py): its JSON type's rank,
its number, its text.  Filters and sorting both use them, so ``price__gt=10`` is ``rank = 3 AND
num > 10``: type-aware by construction, and answered by the expression index ``(rank, num, text,
last_modified, id)`` that indexes.py creates for a declared field, which also yields the ORDER BY
and the next page's keyset bound (a row comparison, exact as no key is ever NULL).

Nothing from the request reaches SQL as text: values are bound parameters; field paths and the
collection id are validated literals (see jsonkeys.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Integer,
    Numeric,
    Select,
    String,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from benben.data.cursor import LongText
from benben.data.jsonkeys import (
    ARRAY,
    FALSE,
    MISSING,
    NULL,
    NUMBER,
    STRING,
    TRUE,
    FieldKeys,
    collection_is,
    const,
    field_keys,
    id_key,
    json_path,
)
from benben.data.models import Record, RecordGrant
from benben.data.query import Field, Filter, ListQuery

__all__ = ["Page", "Statements", "fetch_page", "list_statements"]

READ_PERMISSIONS = ("read", "write")


@dataclass
class Page:
    records: list[Record]
    next_cursor: str | None
    total: int | None


class _Builder:
    def __init__(self, table: Table, dialect: str) -> None:
        self.table = table
        self.dialect = dialect
        self._keys: dict[tuple[str, ...], FieldKeys] = {}

    def keys(self, path: tuple[str, ...]) -> FieldKeys:
        if path not in self._keys:
            self._keys[path] = field_keys(self.table, path, self.dialect)
        return self._keys[path]

    def number(self, value: Any) -> Any:
        """A number bound as the backend compares it: exact numeric on PostgreSQL (a float
        parameter would turn the comparison into a float one and bypass the index)."""
        if self.dialect == "postgresql":
            return bindparam(None, Decimal(value), type_=Numeric())
        if isinstance(value, Decimal):
            exact = value.is_finite() and value == value.to_integral_value()
            value = int(value) if exact else float(value)
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            value = float(value)  # beyond SQLite's integers, as its JSON functions do
        return bindparam(None, value)

    # -- sort keys ---------------------------------------------------------------------------

    def sort_keys(
        self, keys: Iterable[tuple[Field, str, bool]]
    ) -> list[tuple[ColumnElement[Any], bool]]:
        exprs: list[tuple[ColumnElement[Any], bool]] = []
        for fld, part, descending in keys:
            if part == "id":
                expr = id_key(self.table, self.dialect)
            elif part == "last_modified":
                expr = self.table.c.last_modified
            else:
                fk = self.keys(fld.path)
                expr = {"rank": fk.rank, "num": fk.num, "text": fk.ordered_text}[part]
            exprs.append((expr, descending))
        return exprs

    def key_param(self, kind: str, value: Any) -> Any:
        if kind == "num":
            return self.number(value)
        if kind in ("rank", "last_modified"):
            return bindparam(None, value, type_=BigInteger() if kind != "rank" else Integer())
        return bindparam(None, value, type_=String())

    # -- filters -----------------------------------------------------------------------------

    def condition(self, flt: Filter) -> ColumnElement[bool]:
        if flt.field.meta:
            return self._meta(flt)
        keys = self.keys(flt.field.path)
        op, value = flt.op, flt.value
        if op == "exists":
            return keys.rank != const(str(MISSING)) if value else _is_constant(keys, MISSING)
        if op in ("eq", "ne"):
            match = self._equal(keys, value)
            return match if op == "eq" else not_(match)
        if op in ("in", "nin"):
            match = self._among(keys, value)
            return match if op == "in" else not_(match)
        if op in ("lt", "le", "gt", "ge"):
            if isinstance(value, str):
                return and_(_is_string(keys), _compare(keys.ordered_text, op, _text(value)))
            return and_(_is_number(keys), _compare(keys.num, op, self.number(value)))
        if op == "startswith":
            return and_(_is_string(keys), _prefix(keys.ordered_text, value))
        return self._contains(flt.field.path, keys, value)

    def _equal(self, keys: FieldKeys, value: Any) -> ColumnElement[bool]:
        if isinstance(value, str):
            return and_(_is_string(keys), keys.ordered_text == _text(value))
        if value is None or isinstance(value, bool):
            return _is_constant(keys, NULL if value is None else TRUE if value else FALSE)
        return and_(_is_number(keys), keys.num == self.number(value))

    def _among(self, keys: FieldKeys, values: tuple[Any, ...]) -> ColumnElement[bool]:
        ranks = sorted(
            {
                NULL if v is None else TRUE if v else FALSE
                for v in values
                if v is None or isinstance(v, bool)
            }
        )
        numbers = [v for v in values if not isinstance(v, str | bool) and v is not None]
        strings = [v for v in values if isinstance(v, str)]
        options: list[ColumnElement[bool]] = []
        if ranks:
            options.append(
                and_(
                    keys.rank.in_([const(str(r)) for r in ranks]),
                    keys.num == const("0"),
                    keys.ordered_text == const("''"),
                )
            )
        if numbers:
            options.append(and_(_is_number(keys), keys.num.in_([self.number(v) for v in numbers])))
        if strings:
            options.append(
                and_(_is_string(keys), keys.ordered_text.in_([_text(v) for v in strings]))
            )
        return or_(*options) if options else false()

    def _contains(self, path: tuple[str, ...], keys: FieldKeys, value: Any) -> ColumnElement[bool]:
        options = [self._array_has(path, keys, value)]
        if isinstance(value, str):
            options.append(and_(keys.rank == const(str(STRING)), self._substring(keys.text, value)))
        return or_(*options)

    def _array_has(self, path: tuple[str, ...], keys: FieldKeys, value: Any) -> ColumnElement[bool]:
        if self.dialect == "postgresql":
            # Containment of the whole document: answered by the GIN index on data.  An array
            # nested in the array never contains a scalar, as in SQLite's element test below.
            document: Any = [value]
            for segment in reversed(path):
                document = {segment: document}
            return self.table.c.data.op("@>", return_type=Boolean)(
                cast(bindparam(None, _dumps(document), type_=Text()), JSONB)
            )
        element = func.json_each(self.table.c.data, json_path(path)).table_valued("type", "value")
        if value is None or isinstance(value, bool):
            kind = "null" if value is None else "true" if value else "false"
            test = element.c.type == const(f"'{kind}'")
        elif isinstance(value, str):
            test = and_(element.c.type == const("'text'"), element.c.value == value)
        else:
            test = and_(
                element.c.type.in_([const("'integer'"), const("'real'")]),
                element.c.value == self.number(value),
            )
        has = exists(select(const("1")).select_from(element).where(test))
        return and_(keys.rank == const(str(ARRAY)), has)

    def _substring(self, text: ColumnElement[Any], value: str) -> ColumnElement[bool]:
        position = func.strpos if self.dialect == "postgresql" else func.instr
        return position(text, bindparam(None, value, type_=String())) > const("0")

    def _meta(self, flt: Filter) -> ColumnElement[bool]:
        if flt.field.meta == "last_modified":
            column: ColumnElement[Any] = self.table.c.last_modified
            bind = lambda v: bindparam(None, v, type_=BigInteger())  # noqa: E731
        else:
            column = id_key(self.table, self.dialect)
            bind = lambda v: bindparam(None, v, type_=String())  # noqa: E731
        op, value = flt.op, flt.value
        if op in ("in", "nin"):
            match = column.in_([bind(v) for v in value]) if value else false()
            return match if op == "in" else not_(match)
        if op == "startswith":
            return _prefix(column, value)
        if op == "contains":
            return self._substring(self.table.c.id, value)
        return _compare(column, op, bind(value))


# A type's other two keys are constant (0 or ''): saying so lets the index on (rank, num, text,
# last_modified, id) bound a string range by (rank, num), and answer an equality in
# (last_modified, id) order, since the equality then fixes the three leading columns.
def _is_string(keys: FieldKeys) -> ColumnElement[bool]:
    return and_(keys.rank == const(str(STRING)), keys.num == const("0"))


def _is_number(keys: FieldKeys) -> ColumnElement[bool]:
    return and_(keys.rank == const(str(NUMBER)), keys.ordered_text == const("''"))


def _is_constant(keys: FieldKeys, rank: int) -> ColumnElement[bool]:
    """null, false, true or missing: all three keys are constant."""
    return and_(
        keys.rank == const(str(rank)), keys.num == const("0"), keys.ordered_text == const("''")
    )


def _text(value: str) -> Any:
    return bindparam(None, value, type_=String())


def _compare(left: ColumnElement[Any], op: str, right: Any) -> ColumnElement[bool]:
    return {
        "eq": left.__eq__,
        "ne": left.__ne__,
        "lt": left.__lt__,
        "le": left.__le__,
        "gt": left.__gt__,
        "ge": left.__ge__,
    }[op](right)


def _prefix(text: ColumnElement[Any], prefix: str) -> ColumnElement[bool]:
    """Starts with ``prefix``, by code point, as a range an index can answer (LIKE would be
    case-insensitive on SQLite and collation-dependent on PostgreSQL)."""
    low = text >= bindparam(None, prefix, type_=String())
    upper = _successor(prefix)
    if upper is None:
        return low
    return and_(low, text < bindparam(None, upper, type_=String()))


def _successor(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix``."""
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if 0xD800 <= code <= 0xDFFF:  # surrogates are not characters
            code = 0xE000
        if code <= 0x10FFFF:
            return "".join(chars) + chr(code)
    return None


def _dumps(value: Any) -> str:
    """JSON with Decimals written as the exact numbers they are."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return "[" + ",".join(_dumps(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k) + ":" + _dumps(v) for k, v in value.items()) + "}"
    return json.dumps(value)


def _keyset(
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
    assert clause is not None
    # A bound on the first key alone, which both backends can start an index range from.
    (first, descending), value = keys[0], values[0]
    return [clause, first <= value if descending else first >= value]


@dataclass
class Statements:
    page: Select[Any]  # the page's rows (one more than the limit), then their sort keys
    count: Select[Any] | None  # the total, when asked for


def list_statements(
    dialect: str,
    collection_id: str,
    query: ListQuery,
    *,
    readable_by: frozenset[str] | None,
) -> Statements:
    """The SQL of ``query`` on ``dialect`` (``fetch_page`` runs it; tests EXPLAIN it)."""
    table = Record.__table__
    builder = _Builder(table, dialect)
    collection: ColumnElement[bool] = collection_is(table, collection_id)
    if dialect == "sqlite":
        # Without statistics SQLite takes "collection_id = x" for a very selective equality, and
        # would rather sort a whole collection than walk a field's (partial) index in order.
        # The term still selects the partial indexes, whose predicate it is.
        collection = func.likelihood(collection, const("0.99"))
    conditions: list[ColumnElement[bool]] = [collection]
    conditions += [builder.condition(f) for f in query.filters if f.field.meta]
    data_filters = [builder.condition(f) for f in query.filters if not f.field.meta]
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
    keys = builder.sort_keys(sort_keys)
    page_conditions = list(conditions)
    if query.after is not None:
        kinds = [part for _, part, _ in sort_keys]
        values = [builder.key_param(k, v) for k, v in zip(kinds, query.after, strict=True)]
        page_conditions += _keyset(keys, values)
    page = (
        select(Record, *(expr.label(f"k{i}") for i, (expr, _) in enumerate(keys)))
        .where(*page_conditions)
        .order_by(*(expr.desc() if descending else expr.asc() for expr, descending in keys))
        .limit(query.limit + 1)
    )
    count = select(func.count()).select_from(table).where(*conditions) if query.count else None
    return Statements(page, count)


def _whole_texts(session: Session, collection_id: str, query: ListQuery) -> tuple[Any, ...]:
    """The cursor's long text keys (see cursor.LongText), read back from the record the
    previous page ended on.  If it has changed since, the prefix bounds the page instead: the
    records sharing that prefix may then be listed again, but none is skipped."""
    keys = query.sort_keys()
    assert query.after is not None
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
        query = replace(query, after=_whole_texts(session, collection_id, query))
    statements = list_statements(dialect, collection_id, query, readable_by=readable_by)
    rows = session.execute(statements.page).all()
    next_cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        next_cursor = query.cursor_for(tuple(rows[-1])[1:])
    total = None
    if statements.count is not None:
        total = session.execute(statements.count).scalar_one()
    return Page([row[0] for row in rows], next_cursor, total)
