"""Helpers of the list-query tests: records written straight through the ORM, queries run with
fetch_page, and a reference implementation of the query language in Python (the oracle) that
every backend's answer is compared with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import insert as insert_rows
from sqlalchemy.orm import Session
from webob.multidict import MultiDict

from benben.data.models import Collection, Record, RecordGrant
from benben.data.query import ListQuery, parse_list_query
from benben.data.sql import Page, fetch_page

SECRET = b"s" * 32
BASE_TIME = 1_700_000_000_000


@dataclass
class Doc:
    id: str
    data: dict[str, Any] | None
    deleted: bool = False
    readers: tuple[str, ...] = ()
    writers: tuple[str, ...] = ()
    last_modified: int = field(default=0)


def engine_of(registry: Any) -> Engine:
    from benben.db import get_engine

    return get_engine(registry)


def add_collection(engine: Engine, cid: str) -> None:
    with Session(engine) as session, session.begin():
        session.add(Collection(id=cid, indexed_fields=[], permissions={}))


def insert(engine: Engine, cid: str, docs: Iterable[Doc], *, start: int | None = None) -> None:
    """Write ``docs`` in one committed transaction; last_modified from ``start`` (or the
    collection's next) upwards, one millisecond apart, in order."""
    with Session(engine) as session, session.begin():
        collection = session.get(Collection, cid)
        assert collection is not None
        moment = start if start is not None else max(collection.last_modified, BASE_TIME)
        for doc in docs:
            moment += 1
            doc.last_modified = moment
            session.add(
                Record(
                    collection_id=cid,
                    id=doc.id,
                    data=None if doc.deleted else doc.data,
                    permissions={},
                    last_modified=moment,
                    deleted=doc.deleted,
                )
            )
            session.flush()
            for permission, principals in (("read", doc.readers), ("write", doc.writers)):
                for principal in principals:
                    session.add(
                        RecordGrant(
                            collection_id=cid,
                            record_id=doc.id,
                            permission=permission,
                            principal=principal,
                        )
                    )
        collection.last_modified = moment


def insert_many(engine: Engine, cid: str, data: Sequence[dict[str, Any]]) -> None:
    """Records ``n0``, ``n1``... holding ``data``, in one statement: the statistics tests need
    thousands of rows, which ``insert`` would flush one at a time."""
    with Session(engine) as session, session.begin():
        rows = [
            {
                "collection_id": cid,
                "id": f"n{number}",
                "data": document,
                "permissions": {},
                "last_modified": BASE_TIME + number,
                "deleted": False,
            }
            for number, document in enumerate(data)
        ]
        session.execute(insert_rows(Record), rows)
        collection = session.get(Collection, cid)
        assert collection is not None
        collection.last_modified = BASE_TIME + len(rows)
        collection.record_count += len(rows)


def params(query: str | Sequence[tuple[str, str]] | Mapping[str, str]) -> MultiDict:
    if isinstance(query, str):
        pairs = [tuple(part.split("=", 1)) for part in query.split("&") if part]
        return MultiDict([(k, v) for k, v in pairs])
    if isinstance(query, Mapping):
        return MultiDict(list(query.items()))
    return MultiDict(list(query))


def parse(
    query: Any, cid: str = "things", *, limit: int = 100, secret: bytes = SECRET
) -> ListQuery:
    return parse_list_query(
        params(query), default_limit=limit, max_limit=1000, secret=secret, collection_id=cid
    )


def fetch(
    engine: Engine, query: Any, cid: str = "things", *, readable_by: Any = None, limit: int = 100
) -> Page:
    with Session(engine) as session:
        return fetch_page(session, cid, parse(query, cid, limit=limit), readable_by=readable_by)


def ids(page: Page) -> list[str]:
    return [record.id for record in page.records]


def fetch_all(
    engine: Engine, query: str, cid: str = "things", *, limit: int = 3, readable_by: Any = None
) -> list[str]:
    """Every page of ``query``, following the cursors; the ids in order."""
    seen: list[str] = []
    cursor = None
    for _ in range(1000):
        full = query + (f"&_cursor={cursor}" if cursor else "")
        page = fetch(engine, full, cid, readable_by=readable_by, limit=limit)
        seen += ids(page)
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("pagination does not end")


# -- the records and queries most tests use -----------------------------------------------


def documents() -> list[Doc]:
    return [
        Doc(
            "r01",
            {
                "price": 10,
                "name": "apple",
                "tags": ["red", "fruit"],
                "active": True,
                "meta": {"rank": 1, "deep": {"x": "y"}},
            },
        ),
        Doc("r02", {"price": 10.5, "name": "Banana", "tags": ["yellow"], "active": False}),
        Doc("r03", {"price": "10", "name": "cherry", "tags": "red, ripe"}),
        Doc("r04", {"price": None, "name": "apple pie", "meta": {"rank": 2}}),
        Doc("r05", {"price": 2, "name": "Äpfel", "tags": [1, 2.5, True, None]}),
        Doc("r06", {"price": -3, "name": "zebra", "tags": [["red"]], "meta": "flat"}),
        Doc("r07", {"price": 1e3, "name": "apple"}),
        Doc("r08", {"price": True, "name": "10"}),
        Doc("r09", {"price": [10], "name": 10}),
        Doc("r10", {"price": {"v": 10}, "name": None}),
        Doc("r11", {}),
        Doc("r12", {"price": 100, "name": "a%b_c", "tags": []}),
        Doc("r13", {"price": 0, "name": "", "score": 0.1}),
        Doc("r14", {"name": "apple", "price": 10, "meta": {"rank": 1}}),
        Doc("r15", None, deleted=True),
        Doc("r16", {"price": 0.1, "name": "日本", "score": 0.30000000000000004}),
    ]


ORACLE_QUERIES = [
    "",
    "_sort=price",
    "_sort=-price",
    "_sort=name,-price",
    "_sort=-tags,id",
    "_sort=meta.rank,-name",
    "_sort=last_modified",
    "price__ge=10",
    "price__le=10&_sort=price",
    "price__gt=-100&price__lt=100&_sort=-price",
    "price__in=[10, 0.1, null, false]",
    "price__nin=10,100",
    "price__exists=true&_sort=price",
    "name__ge=apple",
    "name__lt=Z&_sort=-name",
    "name__nin=apple,zebra&_sort=name",
    "tags__contains=1",
    "tags__contains=yellow",
    "meta__exists=true&_sort=meta",
    "meta.rank__ne=1",
    "last_modified__gt=1700000000005&last_modified__le=1700000000012",
    "id__contains=1&_sort=-name",
    "_since=1700000000010",
    "_before=1700000000016&_sort=id",
    "_since=1700000000001&price__gt=5",
]


# -- the oracle ------------------------------------------------------------------------------

MISSING = object()


def _number(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def value_at(data: dict[str, Any] | None, path: Sequence[str]) -> Any:
    current: Any = data
    for segment in path:
        if not isinstance(current, dict) or segment not in current:
            return MISSING
        current = current[segment]
    return current


def sort_key(value: Any) -> tuple[int, Decimal, str]:
    if value is MISSING:
        return (7, Decimal(0), "")
    if value is None:
        return (0, Decimal(0), "")
    if isinstance(value, bool):
        return (2 if value else 1, Decimal(0), "")
    if _is_number(value):
        return (3, _number(value), "")
    if isinstance(value, str):
        return (4, Decimal(0), value)
    return (5 if isinstance(value, list) else 6, Decimal(0), "")


def _same(a: Any, b: Any) -> bool:
    """Type-aware equality of two scalars."""
    if _is_number(a) and _is_number(b):
        return _number(a) == _number(b)
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    return isinstance(a, str) and isinstance(b, str) and a == b


def _ordered(value: Any, op: str, target: Any) -> bool:
    if _is_number(target):
        if not _is_number(value):
            return False
        left, right = _number(value), _number(target)
    elif isinstance(value, str) and isinstance(target, str):
        left, right = value, target
    else:
        return False
    return {"lt": left < right, "le": left <= right, "gt": left > right, "ge": left >= right}[op]


def matches(doc: Doc, flt: Any) -> bool:
    if flt.field.meta:
        value = doc.id if flt.field.meta == "id" else doc.last_modified
    else:
        value = value_at(doc.data, flt.field.path)
    op, target = flt.op, flt.value
    if op == "exists":
        return (value is not MISSING) == target
    if op in ("eq", "ne"):
        return _same(value, target) == (op == "eq")
    if op in ("in", "nin"):
        return any(_same(value, t) for t in target) == (op == "in")
    if op in ("lt", "le", "gt", "ge"):
        return _ordered(value, op, target)
    if op == "startswith":
        return isinstance(value, str) and value.startswith(target)
    # contains
    if isinstance(value, list):
        return any(_same(item, target) for item in value) or False
    return isinstance(value, str) and isinstance(target, str) and target in value


def oracle(
    docs: Iterable[Doc],
    query: Any,
    cid: str = "things",
    *,
    readable_by: frozenset[str] | None = None,
) -> list[str]:
    """The ids ``query`` must answer, in order, without pagination."""
    q = parse(query, cid, limit=1000)
    chosen = []
    for doc in docs:
        if q.since is not None and not doc.last_modified > q.since:
            continue
        if q.before is not None and not doc.last_modified < q.before:
            continue
        if doc.deleted and not q.tombstones:
            continue
        if not all(matches(doc, f) for f in q.filters if f.field.meta):
            continue
        if not doc.deleted and not all(matches(doc, f) for f in q.filters if not f.field.meta):
            continue
        if readable_by is not None and not set(doc.readers + doc.writers) & readable_by:
            continue
        chosen.append(doc)
    for key in reversed(q.order()):  # stable sorts, least significant key first
        if key.field.meta == "id":
            chosen.sort(key=lambda d: d.id, reverse=key.descending)
        elif key.field.meta == "last_modified":
            chosen.sort(key=lambda d: d.last_modified, reverse=key.descending)
        else:
            path = key.field.path
            chosen.sort(key=lambda d, p=path: sort_key(value_at(d.data, p)), reverse=key.descending)
    return [doc.id for doc in chosen]
