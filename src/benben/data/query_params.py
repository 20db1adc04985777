"""Reading the parameters of a list query: field paths, filter values, _sort, _fields, numbers.

Each reader raises :class:`InvalidParameter` with a message for the client; query.py collects
them into one 400 problem naming every bad parameter.  The rules are described in query.py.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from benben.data.validation import INTEGER_RULE, MAX_INTEGER
from benben.rest import bad_text

__all__ = [
    "META_FIELDS",
    "OPERATORS",
    "Field",
    "Filter",
    "InvalidParameter",
    "SortKey",
    "parse_field_path",
    "read_boolean",
    "read_fields",
    "read_filter",
    "read_flag",
    "read_int",
    "read_search",
    "read_sort",
]

OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "nin", "contains", "startswith", "exists")
META_FIELDS = ("id", "last_modified")
RESERVED = (
    "_sort",
    "_fields",
    "_limit",
    "_cursor",
    "_count",
    "_since",
    "_before",
    "_q",
    "_highlight",
)
# The relevance of a record to ``_q``: a sort key only (``_sort=-_rank``).
RANK = "_rank"
MAX_SEARCH_LENGTH = 1000
MAX_DEPTH = 8
MAX_FILTERS = 20
MAX_LIST_VALUES = 100
MAX_SORT_KEYS = 5
MAX_FIELDS = 50
MAX_VALUE_LENGTH = 4096
# Five sort keys of the longest text a cursor carries (cursor.LONG_TEXT characters of escaped
# JSON, up to 12 bytes each), with their numbers and digests.
MAX_CURSOR_LENGTH = 8192

_SEGMENT = re.compile(r"_?[A-Za-z0-9-]+(?:_[A-Za-z0-9-]+)*")
_MAX_SEGMENT_LENGTH = 64
_INTEGER = re.compile(r"(?:0|[1-9][0-9]{0,17})")
_META_OPS = {
    "id": frozenset(OPERATORS) - {"exists"},
    "last_modified": frozenset(OPERATORS) - {"exists", "contains", "startswith"},
}

Scalar = None | bool | int | Decimal | str


@dataclass(frozen=True)
class Field:
    """A data path (``path``), or one of the record's metadata fields (``meta``)."""

    path: tuple[str, ...] = ()
    meta: str | None = None

    def __str__(self) -> str:
        return self.meta or ".".join(self.path)


@dataclass(frozen=True)
class Filter:
    field: Field
    op: str
    # A scalar; a tuple of scalars for in/nin; a bool for exists.
    value: Any
    param: str


@dataclass(frozen=True)
class SortKey:
    field: Field
    descending: bool = False


class InvalidParameter(ValueError):  # noqa: N818 - a message for the client, not a fault
    pass


def parse_field_path(text: str) -> tuple[str, ...]:
    """A dotted data path's segments; ``ValueError`` saying what is wrong with it."""
    segments = tuple(text.split("."))
    if not text or len(segments) > MAX_DEPTH:
        raise ValueError(f"a field is a dotted path of 1 to {MAX_DEPTH} segments")
    for segment in segments:
        if len(segment) > _MAX_SEGMENT_LENGTH or not _SEGMENT.fullmatch(segment):
            raise ValueError(
                f"invalid field segment {_quoted(segment)}: segments are letters, "
                'digits, "-" and single "_" (not at the end), at most '
                f"{_MAX_SEGMENT_LENGTH} characters"
            )
    if segments[0].startswith("_"):
        raise ValueError('top-level names starting with "_" are reserved parameters')
    return segments


def _field(text: str) -> Field:
    if text in META_FIELDS:
        return Field(meta=text)
    try:
        return Field(path=parse_field_path(text))
    except ValueError as exc:
        raise InvalidParameter(str(exc)) from None


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are text here, not numbers


_NOT_JSON = object()


def _json(raw: str) -> Any:
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_no_constant)
    except ValueError:
        return _NOT_JSON


def _value(fld: Field, op: str, raw: str) -> Any:
    if op == "exists":
        if raw not in ("true", "false"):
            raise InvalidParameter("exists takes true or false")
        return raw == "true"
    if op not in ("in", "nin"):
        return _one(fld, op, _json(raw), raw)
    if raw.startswith("["):
        values = _json(raw)
        if not isinstance(values, list):
            raise InvalidParameter('starts with "[" but is not a JSON array')
        items = [(value, None) for value in values]
    else:
        items = [(_json(text), text) for text in raw.split(",")]
    if len(items) > MAX_LIST_VALUES:
        raise InvalidParameter(f"at most {MAX_LIST_VALUES} values")
    return tuple(_one(fld, op, value, text) for value, text in items)


def _one(fld: Field, op: str, value: Any, raw: str | None) -> Scalar:
    """One value: ``value`` as JSON (``_NOT_JSON`` if it is not), ``raw`` its text if it was
    given as text (not inside a JSON array)."""
    if value is _NOT_JSON:
        value = raw
    if isinstance(value, str) and bad_text(value):  # from a JSON escape: "\u0000"
        raise InvalidParameter("contains a NUL character or a lone surrogate")
    if fld.meta == "id" or op == "startswith":
        if isinstance(value, str):
            return value
        if raw is None:
            raise InvalidParameter(f"{op} takes strings" if not fld.meta else "id takes strings")
        return raw
    if fld.meta == "last_modified":
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= 2**63:
            raise InvalidParameter("last_modified takes integers (epoch milliseconds)")
        return value
    if isinstance(value, list | dict):
        kind = "array" if isinstance(value, list) else "object"
        raise InvalidParameter(f"{op} takes a string, number, boolean or null, not a JSON {kind}")
    if isinstance(value, int | Decimal) and not isinstance(value, bool) and not _finite(value):
        raise InvalidParameter("numbers must be finite, within ±1.7e308")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        raise InvalidParameter(INTEGER_RULE)  # as record data: no record holds such a number
    if op in ("lt", "le", "gt", "ge") and (value is None or isinstance(value, bool)):
        raise InvalidParameter(f"{op} compares numbers or strings")
    return value


def _finite(number: int | Decimal) -> bool:
    """Representable as a double, as SQLite compares numbers."""
    try:
        return math.isfinite(float(number))
    except OverflowError:
        return False


def read_filter(name: str, raw: str) -> Filter:
    path, _, op = name.partition("__")
    op = op or "eq"
    if op not in OPERATORS:
        raise InvalidParameter(
            f"unknown operator {_quoted(op[:32])}; operators: {', '.join(OPERATORS)}"
        )
    fld = _field(path)
    if fld.meta and op not in _META_OPS[fld.meta]:
        raise InvalidParameter(f"{op} does not apply to {fld.meta}")
    if len(raw) > MAX_VALUE_LENGTH:
        raise InvalidParameter(f"values are at most {MAX_VALUE_LENGTH} characters")
    return Filter(fld, op, _value(fld, op, raw), name)


def read_sort(raw: str) -> tuple[SortKey, ...]:
    """``-price,name``: fields separated by commas, each with one optional ``-`` (descending).
    Anything else is refused with what is wrong with which key, never read some other way: a
    field name starting with ``-`` cannot be sorted on (``--price`` is not "ascending -price")."""
    items = raw.split(",")
    if raw == "":
        raise InvalidParameter("is empty; give fields separated by commas, such as -price,name")
    if len(items) > MAX_SORT_KEYS:
        raise InvalidParameter(f"at most {MAX_SORT_KEYS} sort keys")
    keys: list[SortKey] = []
    for number, item in enumerate(items, 1):
        where = f"key {number} ({_quoted(item)})"
        if item == "":
            raise InvalidParameter(f"key {number} is empty (two commas in a row, or one at an end)")
        descending = item.startswith("-")
        name = item[1:] if descending else item
        if name == "":
            raise InvalidParameter(f'{where} is a lone "-": write the field after it, as in -price')
        if name.startswith(("-", "+")) or item.startswith("+"):
            raise InvalidParameter(
                f'{where}: one "-" before a field means descending, nothing means ascending; '
                'field names starting with "-" or "+" cannot be sorted on'
            )
        try:
            field = Field(meta=RANK) if name == RANK else _field(name)
        except InvalidParameter as exc:
            raise InvalidParameter(f"{where}: {exc}") from None
        if any(key.field == field for key in keys):
            raise InvalidParameter(f"{where}: {field} is already a sort key")
        keys.append(SortKey(field, descending))
    return tuple(keys)


def _quoted(text: str) -> str:
    """``text`` in JSON's double quotes, cut short: messages name a value, they do not echo it."""
    return json.dumps(text[:_MAX_SEGMENT_LENGTH], ensure_ascii=False)


def read_fields(raw: str) -> tuple[str, ...]:
    names = raw.split(",")
    if len(names) > MAX_FIELDS:
        raise InvalidParameter(f"at most {MAX_FIELDS} fields")
    for name in names:
        if name not in META_FIELDS:
            _field(name)
    return tuple(dict.fromkeys(names))


def read_int(raw: str, low: int, high: int | None = None) -> int:
    text = raw[1:-1] if len(raw) > 1 and raw[0] == raw[-1] == '"' else raw  # an ETag's quotes
    if not _INTEGER.fullmatch(text) or int(text) < low or (high is not None and int(text) > high):
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise InvalidParameter(f"must be an integer {bound}")
    return int(text)


def read_search(raw: str) -> str:
    """``_q``: a websearch query (words, "quoted phrases", or, -word), any text but empty."""
    if not raw.strip():
        raise InvalidParameter("is empty; give the words to search for")
    if len(raw) > MAX_SEARCH_LENGTH:
        raise InvalidParameter(f"at most {MAX_SEARCH_LENGTH} characters")
    if bad_text(raw):
        raise InvalidParameter("contains a NUL character or a lone surrogate")
    return raw


def read_flag(raw: str) -> bool:
    """``0`` or ``1``."""
    if raw not in ("0", "1"):
        raise InvalidParameter("must be 0 or 1")
    return raw == "1"


def read_boolean(raw: str) -> bool:
    if raw not in ("true", "false"):
        raise InvalidParameter("must be true or false")
    return raw == "true"
