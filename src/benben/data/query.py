"""The list-query language of the data API: query-string parameters into a validated ListQuery.

Filters (every parameter not starting with ``_``; at most 20, all of which must hold):

- ``path=value`` or ``path__op=value``, ``op`` one of ``eq`` (the default) ``ne lt le gt ge in
  nin contains startswith exists``.  ``path`` is a dotted path of object keys into the record's
  data (``address.city``, at most 8 segments): segments of letters, digits, ``-`` and single
  ``_`` (never ``__``, which introduces the operator, nor a trailing ``_``); a top-level name
  does not start with ``_`` (reserved parameters do).  Segments are always object keys, never
  array indexes.  ``id`` and ``last_modified`` mean the record's metadata, everywhere in the
  language (so a top-level data member of either name cannot be queried).
- Values are JSON when they parse as JSON (``10`` a number, ``true`` a boolean, ``null``,
  ``"10"`` the string 10), else the text as given (``NaN`` is text).  ``in``/``nin`` take a JSON
  array or comma-separated values, each read the same way (at most 100; a value holding a comma
  needs the array form).  ``exists`` takes ``true`` or ``false``.  ``startswith`` takes text (a
  JSON string is unquoted).  For ``id`` every value is text; for ``last_modified`` an integer.
- Type-aware: a number matches numbers only, a string strings only (compared by code point, case
  sensitive), ``true``/``false``/``null`` only themselves; arrays and objects are never values.
  A missing member matches no comparison, but ``ne``/``nin`` match records where the member is
  missing or of another type, ``exists=false`` exactly those where it is missing (a JSON null
  exists).  ``lt le gt ge`` take numbers or strings.  ``contains``: an array holding an element
  equal to the value (not inside a nested array), or, for a string value, a string holding it as
  a substring.  ``startswith``: strings only.
- A parameter given twice is two filters.

Reserved parameters, each given at most once: ``_sort`` (``-price,name``: at most 5 keys, ``-``
for descending; default ``-last_modified``), ``_fields`` (data members to return),
``_limit``, ``_cursor`` (from the previous page's ``next``; bound to this collection, filters,
search, sort and _since/_before window), ``_count=true`` (add the total), ``_since``/``_before``
(last_modified strictly after/before; deleted records in that window are part of the answer, as
tombstones, whatever the data filters, since a tombstone has no data left to filter on),
``_q`` (full-text search of the collection's ``searchable_fields``, see search.py: a filter
like the others; ``_sort=-_rank`` sorts by relevance) and ``_highlight=1`` (with ``_q``).

Sorting: values of mixed types sort by type (null, false, true, numbers, strings, arrays,
objects, missing members), then numbers by value and strings by code point (arrays and objects
tie); a descending key reverses all of it (missing members first).  Ties are broken by
last_modified, then id, in the direction of the last key, so that pages never overlap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from benben.data.cursor import decode as decode_cursor
from benben.data.cursor import encode as encode_cursor
from benben.data.cursor import fingerprint as query_fingerprint
from benben.data.declared import undeclared
from benben.data.query_params import (
    MAX_CURSOR_LENGTH,
    MAX_FILTERS,
    META_FIELDS,
    OPERATORS,
    RANK,
    RESERVED,
    Field,
    Filter,
    InvalidParameter,
    SortKey,
    parse_field_path,
    read_boolean,
    read_fields,
    read_filter,
    read_flag,
    read_int,
    read_search,
    read_sort,
)
from benben.data.search import Search
from benben.errors import invalid_input

__all__ = [
    "OPERATORS",
    "Field",
    "Filter",
    "ListQuery",
    "SortKey",
    "parse_field_path",
    "parse_list_query",
    "project",
]

DEFAULT_SORT = (SortKey(Field(meta="last_modified"), descending=True),)


@dataclass(frozen=True)
class ListQuery:
    collection_id: str
    filters: tuple[Filter, ...] = ()
    sort: tuple[SortKey, ...] = DEFAULT_SORT
    fields: tuple[str, ...] | None = None
    limit: int = 100
    count: bool = False
    since: int | None = None
    before: int | None = None
    # The sort keys of the last row of the previous page (see sort_keys), from _cursor.
    after: tuple[Any, ...] | None = None
    search: Search | None = None
    fingerprint: bytes = b""
    secret: bytes = field(default=b"", repr=False)

    @property
    def tombstones(self) -> bool:
        """Changes are asked for: deleted records are part of the answer."""
        return self.since is not None or self.before is not None

    def order(self) -> tuple[SortKey, ...]:
        """The sort keys with the tiebreak (last_modified, then id) that makes the order total."""
        keys = list(self.sort)
        descending = keys[-1].descending
        names = {key.field.meta for key in keys}
        if "id" not in names:
            if "last_modified" not in names:
                keys.append(SortKey(Field(meta="last_modified"), descending))
            keys.append(SortKey(Field(meta="id"), descending))
        return tuple(keys)

    def sort_keys(self) -> tuple[tuple[Field, str, bool], ...]:
        """The values rows are ordered by: ``(field, part, descending)``, where ``part`` is
        ``id``, ``last_modified`` or, for a data field, ``rank`` (its JSON type), ``num`` and
        ``text`` (see jsonkeys.py).  A cursor holds the last row's values of exactly these.

        Leading parts that the filters hold constant are left out: they do not change the order,
        and SQLite only uses an index for the ORDER BY when they are left out.
        """
        keys: list[tuple[Field, str, bool]] = []
        for key in self.order():
            if key.field.meta:
                keys.append((key.field, key.field.meta, key.descending))
                continue
            fixed = self._fixed(key.field)
            parts = list(_PARTS)
            while parts and parts[0] in fixed:
                parts.pop(0)
            keys.extend((key.field, part, key.descending) for part in parts)
        return tuple(keys)

    def _fixed(self, fld: Field) -> set[str]:
        """The parts of ``fld`` that every row of the answer has the same value of."""
        fixed: set[str] = set()
        if self.tombstones:  # tombstones escape the data filters
            return fixed
        for flt in self.filters:
            if flt.field == fld:
                fixed |= _fixed_parts(flt)
        return fixed

    def cursor_for(self, keys: Iterable[Any]) -> str:
        return encode_cursor(self.secret, self.fingerprint, keys)


_PARTS = ("rank", "num", "text")


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if value is None or isinstance(value, bool):
        return "constant"
    return "number"


def _fixed_parts(flt: Filter) -> set[str]:
    """The parts of a field that a filter on it holds constant (see jsonkeys.py)."""
    if flt.op == "eq" or (flt.op == "exists" and not flt.value):
        return {"rank", "num", "text"}
    if flt.op == "startswith":
        return {"rank", "num"}
    values = flt.value if flt.op == "in" else (flt.value,)
    if flt.op not in ("lt", "le", "gt", "ge", "in") or not values:
        return set()
    kinds = {_kind(v) for v in values}
    if kinds == {"string"}:
        return {"rank", "num"}
    if kinds == {"number"}:
        return {"rank", "text"}
    if kinds == {"constant"}:
        ranks = {repr(v) for v in values}
        return {"num", "text"} | ({"rank"} if len(ranks) == 1 else set())
    return set()


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, name: str, message: str) -> None:
        self.items.append({"location": "querystring", "name": name, "message": message})

    def raise_if_any(self) -> None:
        if self.items:
            raise invalid_input(self.items)


def _check_declared(
    schema: Any, filters: Iterable[Filter], sort: Iterable[SortKey], errors: _Errors
) -> None:
    """Sorts and filters on a field the collection's schema forbids: no record has it."""
    if not isinstance(schema, Mapping):
        return
    named = [(flt.param, flt.field) for flt in filters] + [("_sort", key.field) for key in sort]
    for name, fld in named:
        missing = None if fld.meta else undeclared(schema, fld.path)
        if missing is not None:
            errors.add(
                name,
                f"the schema of the collection does not declare {missing}, and accepts no "
                "undeclared fields: no record can have it",
            )


def _pairs(params: Mapping[str, str]) -> list[tuple[str, str]]:
    items = params.items()  # a MultiDict gives every value of a repeated parameter
    return [(str(name), str(value)) for name, value in items]


def parse_list_query(
    params: Mapping[str, str],
    *,
    default_limit: int,
    max_limit: int,
    secret: bytes,
    collection_id: str,
    ignore: Iterable[str] = (),
    schema: Any = None,
    searchable_fields: Iterable[str] = (),
    search_language: str = "simple",
) -> ListQuery:
    """The list query of ``params`` (``request.GET``), or a 400 problem naming every bad one.

    ``ignore``: reserved (``_``) parameters the caller handles itself; other unknown reserved
    parameters are refused, so that a misspelt ``_sort`` does not pass unnoticed.  ``schema``:
    the collection's; a sort or filter on a field it forbids is refused (:mod:`.declared`).
    ``searchable_fields`` and ``search_language``: the collection's, which ``_q`` searches.
    """
    errors = _Errors()
    ignored = set(ignore)
    reserved: dict[str, str] = {}
    filters: list[Filter] = []
    for name, raw in _pairs(params):
        if name in ignored:
            continue
        if name.startswith("_"):
            if name not in RESERVED:
                errors.add(name, f"unknown parameter; reserved ones are {', '.join(RESERVED)}")
            elif name in reserved:
                errors.add(name, "must be given at most once")
            reserved[name] = raw
            continue
        if len(filters) >= MAX_FILTERS:
            errors.add(name, f"at most {MAX_FILTERS} filters")
            continue
        try:
            filters.append(read_filter(name, raw))
        except InvalidParameter as exc:
            errors.add(name, str(exc))

    values: dict[str, Any] = {}
    readers = {
        "_sort": read_sort,
        "_fields": read_fields,
        "_limit": lambda raw: read_int(raw, 1, max_limit),
        "_count": read_boolean,
        "_since": lambda raw: read_int(raw, 0),
        "_before": lambda raw: read_int(raw, 0),
        "_q": read_search,
        "_highlight": read_flag,
    }
    for name, read in readers.items():
        if name in reserved:
            try:
                values[name] = read(reserved[name])
            except InvalidParameter as exc:
                errors.add(name, str(exc))
    _check_declared(schema, filters, values.get("_sort", ()), errors)
    search = _search(reserved, values, tuple(searchable_fields), search_language, errors)
    errors.raise_if_any()

    query = ListQuery(
        collection_id=collection_id,
        filters=tuple(filters),
        sort=values.get("_sort", DEFAULT_SORT),
        fields=values.get("_fields"),
        limit=values.get("_limit", default_limit),
        count=values.get("_count", False),
        since=values.get("_since"),
        before=values.get("_before"),
        search=search,
        secret=secret,
    )
    searched = [("_q", True, "search", search.text)] if search is not None else []
    fingerprint = query_fingerprint(
        collection_id,
        [(str(f.field), bool(f.field.meta), f.op, f.value) for f in query.filters] + searched,
        [(str(k.field), bool(k.field.meta), k.descending) for k in query.sort],
        query.since,
        query.before,
    )
    after = None
    if "_cursor" in reserved:
        raw = reserved["_cursor"]
        try:
            if len(raw) > MAX_CURSOR_LENGTH:
                raise ValueError("too long")
            after = decode_cursor(secret, fingerprint, raw, [k[1] for k in query.sort_keys()])
        except ValueError:
            errors.add("_cursor", "is not a cursor this API returned for this query")
            errors.raise_if_any()
    return replace(query, after=after, fingerprint=fingerprint)


def _search(
    reserved: Mapping[str, str],
    values: Mapping[str, Any],
    fields: tuple[str, ...],
    language: str,
    errors: _Errors,
) -> Search | None:
    """The search ``_q`` asks for; what needs it (``_highlight``, sorting on ``_rank``) is
    refused without it."""
    if "_q" in reserved and not fields:
        errors.add(
            "_q",
            "the collection has no searchable_fields: declare the fields to search in its "
            "searchable_fields",
        )
    if "_q" not in reserved:
        if "_highlight" in reserved:
            errors.add("_highlight", "applies to a search: give _q too")
        if any(key.field.meta == RANK for key in values.get("_sort", ())):
            errors.add("_sort", f"{RANK} is the relevance to a search: give _q too")
    if "_q" not in values or not fields:
        return None
    return Search(values["_q"], language, fields, values.get("_highlight", False))


def project(data: dict[str, Any] | None, fields: tuple[str, ...] | None) -> dict[str, Any] | None:
    """The members of ``data`` that ``_fields`` names, nested structure kept (a tombstone's
    ``None`` stays ``None``). Metadata names select nothing from data: they are always sent."""
    if fields is None or data is None:
        return data
    paths = {tuple(name.split(".")) for name in fields if name not in META_FIELDS}
    # A member named whole makes the paths inside it redundant.
    paths = {p for p in paths if not any(p[:n] in paths for n in range(1, len(p)))}
    result: dict[str, Any] = {}
    for path in sorted(paths):
        source: Any = data
        for segment in path[:-1]:
            source = source.get(segment) if isinstance(source, dict) else None
        if not isinstance(source, dict) or path[-1] not in source:
            continue
        target = result
        for segment in path[:-1]:
            target = target.setdefault(segment, {})
        target[path[-1]] = source[path[-1]]
    return result
