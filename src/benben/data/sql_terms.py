"""The SQL terms of the list-query language: a filter as a condition, a sort key as an
expression, a value as a bound parameter, with the same answers on PostgreSQL and SQLite.

Every data field is three total expressions (jsonkeys.py): its JSON type's rank, its number, its
text.  Filters and sorting both use them, so ``price__gt=10`` is ``rank = 3 AND num > 10``:
type-aware by construction, and answered by the expression index ``(rank, num, text,
last_modified, id)`` that indexes.py creates for a declared field.  Values are bound parameters,
never SQL text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Double,
    Integer,
    Numeric,
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
)
from sqlalchemy.dialects.postgresql import JSONB

from benben.data.jsonkeys import (
    ARRAY,
    FALSE,
    MISSING,
    NULL,
    NUMBER,
    STRING,
    TRUE,
    FieldKeys,
    const,
    field_keys,
    id_key,
    json_path,
)
from benben.data.query_params import RANK, Field, Filter

__all__ = ["Terms"]


class Terms:
    """The SQL terms of one query on one backend: each field's keys (built once), its filters'
    conditions, its sort keys and their bound values."""

    def __init__(
        self,
        table: Table,
        dialect: str,
        rank: Callable[[], ColumnElement[Any]] | None = None,
    ) -> None:
        self.table = table
        self.dialect = dialect
        # The relevance to the query's search (search.py), when it has one.
        self.rank = rank
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
            elif part == RANK:
                if self.rank is None:
                    raise ValueError(f"{RANK} sorts a search only")
                expr = self.rank()
            else:
                fk = self.keys(fld.path)
                expr = {"rank": fk.rank, "num": fk.num, "text": fk.ordered_text}[part]
            exprs.append((expr, descending))
        return exprs

    def key_param(self, kind: str, value: Any) -> Any:
        if kind == "num":
            return self.number(value)
        if kind == RANK:
            return bindparam(None, value, type_=Double())
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
