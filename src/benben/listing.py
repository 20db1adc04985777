"""One convention for every list of the API (docs/api-conventions.md), and its one implementation.

A list answers ``{"data": [...], "next": URL | null}`` (with ``_count=true`` also ``"total"``
and a ``Total-Records`` header) and takes ``_limit``, ``_cursor``, ``_sort``, ``_count`` and the
endpoint's own filters; anything else is a 400 naming the parameter.  A list is declared once, as
a :class:`Listing`, which both reads a request (:meth:`Listing.parse`) and documents the
operation (:meth:`Listing.parameters`, :meth:`Listing.response`)::

    THINGS = Listing(sortable=("name", "created_at"), default_sort="name",
                     filters=(Parameter("kind", description="Things of this kind only."),))

    @things.get(permission=READ, parameters=THINGS.parameters(),
                responses={200: THINGS.response("A page of things", THING)})
    def list_things(request):
        params = THINGS.parse(request)
        query = select(Thing)
        if "kind" in params.filters:
            query = query.where(Thing.kind == params.filters["kind"])
        page = fetch_page(request.dbsession, query, params,
                          {"name": Thing.name, "created_at": Thing.created_at, "id": Thing.id})
        return list_response(request, [thing_json(t) for t in page.items], page.next_cursor,
                             page.total)

Pages are keyset pages: the cursor holds the sort keys of the page's last item (and of the
``unique`` column that breaks ties), signed with a key derived from ``benben.secret`` and bound
to the path, the sort and the filters, so that an edited or replayed cursor is a 400, never a
query on values the client chose.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from pyramid.request import Request

from benben.errors import ProblemError, invalid_input
from benben.rest import JSONSchema, Parameter, Response
from benben.schema_messages import json_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from sqlalchemy.sql import ColumnElement, Select

__all__ = [
    "LIST_HEADERS",
    "LIST_PARAMETERS",
    "TOTAL_HEADER",
    "ListParams",
    "Listing",
    "Page",
    "fetch_page",
    "invalid_parameter",
    "list_envelope",
    "list_response",
    "list_schema",
    "next_page_url",
]

# The parameters every list takes (each at most once); the rest are the endpoint's filters.
LIST_PARAMETERS = ("_limit", "_cursor", "_sort", "_count")
TOTAL_HEADER = "Total-Records"
MAX_CURSOR_LENGTH = 4096
_CURSOR_KEY_LABEL = b"benben.listing.cursor-key"
_MAC_BYTES = 16


@dataclass(frozen=True)
class ListParams:
    """A list request, read and checked: what :func:`fetch_page` needs."""

    limit: int
    # (field, descending) pairs, the tiebreak (``unique``) last unless the sort names it.
    sort: tuple[tuple[str, bool], ...]
    count: bool
    # The endpoint's own parameters as given (each at most once), by name.
    filters: Mapping[str, str]
    # The sort keys of the previous page's last item, from ``_cursor``.
    after: tuple[Any, ...] | None = None
    fingerprint: bytes = field(default=b"", repr=False)
    secret: bytes = field(default=b"", repr=False)

    def cursor_for(self, keys: Sequence[Any]) -> str:
        """The cursor of a page ending on an item whose sort keys (``sort`` order) are ``keys``."""
        payload = json.dumps([_encode_value(v) for v in keys], separators=(",", ":")).encode()
        return _b64(payload) + "." + _b64(_mac(self.secret, self.fingerprint, payload))


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None
    total: int | None = None


@dataclass(frozen=True)
class Listing:
    """How one list endpoint pages, sorts and filters.

    ``sortable``: the fields ``_sort`` may name (columns that are never null); ``default_sort``
    in ``_sort`` syntax; ``unique``: the field that breaks ties (a unique column, sortable or
    not); ``default_limit``/``max_limit``: numbers, or the names of the settings holding them;
    ``filters``: the endpoint's own query parameters, documented.
    """

    sortable: tuple[str, ...]
    default_sort: str
    unique: str = "id"
    default_limit: int | str = 100
    max_limit: int | str = 1000
    filters: tuple[Parameter, ...] = ()

    def parse(self, request: Request) -> ListParams:
        """The request's list parameters, or one 400 problem naming every bad parameter."""
        errors: list[dict[str, str]] = []

        def bad(name: str, message: str) -> None:
            errors.append({"location": "querystring", "name": name, "message": message})

        accepted = (*LIST_PARAMETERS, *(f.name for f in self.filters))
        given: dict[str, str] = {}
        for name, value in request.GET.items():
            if name not in accepted:
                bad(name, f"unknown parameter; accepted: {', '.join(accepted)}")
            elif name in given:
                bad(name, "must be given at most once")
            given[name] = value
        default_limit, max_limit = self._limits(request)
        limit = default_limit
        if "_limit" in given:
            raw = given["_limit"]
            if raw.isascii() and raw.isdigit() and len(raw) <= 9 and 1 <= int(raw) <= max_limit:
                limit = int(raw)
            else:
                bad("_limit", f"must be an integer from 1 to {max_limit}")
        count = given.get("_count", "false")
        if count not in ("true", "false"):
            bad("_count", "must be true or false")
        sort: tuple[tuple[str, bool], ...] = ()
        try:
            sort = self._sort(given.get("_sort", self.default_sort))
        except ValueError as exc:
            bad("_sort", str(exc))
        if errors:
            raise invalid_input(errors)
        if self.unique not in (name for name, _ in sort):
            sort = (*sort, (self.unique, sort[-1][1]))
        filters = {f.name: given[f.name] for f in self.filters if f.name in given}
        fingerprint = _fingerprint(request.path, sort, filters)
        params = ListParams(limit, sort, count == "true", filters, None, fingerprint,
                            _cursor_secret(request))  # fmt: skip
        if "_cursor" in given:
            try:
                after = _decode(params, given["_cursor"])
            except ValueError:
                message = "is not a cursor this list returned for this query"
                raise invalid_parameter("_cursor", message) from None
            params = ListParams(limit, sort, params.count, filters, after, fingerprint,
                                params.secret)  # fmt: skip
        return params

    def _limits(self, request: Request) -> tuple[int, int]:
        settings = request.registry.settings
        values = (self.default_limit, self.max_limit)
        low, high = (int(settings[v]) if isinstance(v, str) else v for v in values)
        return min(low, high), high

    def _sort(self, raw: str) -> tuple[tuple[str, bool], ...]:
        keys: list[tuple[str, bool]] = []
        for item in raw.split(","):
            name = item[1:] if item.startswith("-") else item
            if name not in self.sortable:
                shown = item if len(item) <= 64 else item[:64] + "..."
                raise ValueError(
                    f"cannot sort by {json_text(shown)}: a comma-separated list of fields, '-' "
                    f"before a field for descending; sortable: {', '.join(self.sortable)}"
                )
            if name in (key for key, _ in keys):
                raise ValueError(f"{name} is named twice")
            keys.append((name, item.startswith("-")))
        return tuple(keys)

    def parameters(self) -> list[Parameter]:
        """The OpenAPI parameters of this list: the endpoint's filters, then the list's own."""
        limits = {
            name: (f"the setting `{value}`" if isinstance(value, str) else str(value))
            for name, value in (("default", self.default_limit), ("max", self.max_limit))
        }
        return [
            *self.filters,
            Parameter(
                "_limit",
                schema={"type": "string", "pattern": "^[0-9]+$"},
                description=f"Page size, from 1 to {limits['max']} (default {limits['default']}).",
            ),
            Parameter(
                "_cursor",
                schema={"type": "string", "maxLength": MAX_CURSOR_LENGTH},
                description="Opaque: from the previous page's `next` URL.",
            ),
            Parameter(
                "_sort",
                schema={"type": "string", "x-benben-sortable": list(self.sortable)},
                description=f"Fields, comma-separated, '-' for descending; sortable: "
                f"{', '.join(self.sortable)} (default {self.default_sort}).",
            ),
            Parameter(
                "_count",
                schema={"type": "string", "enum": ["true", "false"]},
                description="true: add `total` and the `Total-Records` header.",
            ),
        ]

    def response(self, description: str, item_schema: JSONSchema, title: str) -> Response:
        """The documented 200 response: :func:`list_schema` of the items, and its headers."""
        return Response(description, list_schema(item_schema, title), LIST_HEADERS)


LIST_HEADERS: Mapping[str, str] = {
    "Link": 'The next page, as `<url>; rel="next"` (absent on the last page).',
    TOTAL_HEADER: "With `_count=true`: the number of items of every page of the list.",
}


def list_schema(item_schema: JSONSchema, title: str) -> dict[str, Any]:
    """The envelope's JSON Schema, ``title`` naming it in the OpenAPI document's components."""
    return {
        "title": title,
        "type": "object",
        "required": ["data", "next"],
        "properties": {
            "data": {"type": "array", "items": item_schema},
            "next": {
                "type": ["string", "null"],
                "description": "The next page's URL (also in the `Link` header); null on the "
                "last page.",
            },
            "total": {
                "type": "integer",
                "minimum": 0,
                "description": "With `_count=true`: the number of items of every page.",
            },
        },
        "additionalProperties": False,
    }


def fetch_page(
    session: Session,
    query: Select[Any],
    params: ListParams,
    columns: Mapping[str, ColumnElement[Any]],
) -> Page:
    """One page of ``query`` (selecting one entity or column, unordered and unlimited),
    ordered by ``params.sort``; ``columns`` maps each sortable field, and the ``unique`` one,
    to its (never null) column."""
    # SQLAlchemy is imported when a list is read, not with benben.plugin: plugins' commands
    # must not pay for it on every `benben` run.
    from sqlalchemy import func, select

    keys = [(columns[name], descending) for name, descending in params.sort]
    total = None
    if params.count:
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page = query.add_columns(*(column for column, _ in keys))
    if params.after is not None:
        page = page.where(_after(keys, params.after))
    page = page.order_by(*(c.desc() if d else c.asc() for c, d in keys)).limit(params.limit + 1)
    rows = session.execute(page).all()
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    cursor = params.cursor_for(tuple(rows[-1])[1:]) if more else None
    return Page([row[0] for row in rows], cursor, total)


def _after(keys: Sequence[tuple[ColumnElement[Any], bool]], values: Sequence[Any]) -> Any:
    """Rows after ``values`` in the order of ``keys``: (k1 > v1) or (k1 = v1 and k2 > v2)..."""
    from sqlalchemy import and_, or_

    clauses = []
    for index, (column, descending) in enumerate(keys):
        equal = [keys[j][0] == values[j] for j in range(index)]
        beyond = column < values[index] if descending else column > values[index]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def next_page_url(request: Request, cursor: str) -> str:
    """This request's URL with ``_cursor`` replaced: every other parameter kept."""
    query = [(k, v) for k, v in request.GET.items() if k != "_cursor"]
    return f"{request.path_url}?{urlencode([*query, ('_cursor', cursor)])}"


def list_envelope(
    request: Request, data: list[Any], next_cursor: str | None, total: int | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The body and headers (``Link``, ``Total-Records``) of a list response."""
    body: dict[str, Any] = {"data": data, "next": None}
    headers: dict[str, str] = {}
    if next_cursor is not None:
        body["next"] = next_page_url(request, next_cursor)
        headers["Link"] = f'<{body["next"]}>; rel="next"'
    if total is not None:
        body["total"] = total
        headers[TOTAL_HEADER] = str(total)
    return body, headers


def list_response(
    request: Request, data: list[Any], next_cursor: str | None, total: int | None = None
) -> dict[str, Any]:
    """The body of a list response (to return from the view); its headers set on
    ``request.response``."""
    body, headers = list_envelope(request, data, next_cursor, total)
    request.response.headers.update(headers)
    return body


def invalid_parameter(name: str, message: str) -> ProblemError:
    """The 400 problem for a bad query parameter ``name`` (raise it), as every list answers."""
    return invalid_input([{"location": "querystring", "name": name, "message": message}])


def _cursor_secret(request: Request) -> bytes:
    # A key of its own, derived from the server secret: one HMAC per list request.
    secret = str(request.registry.settings.get("benben.secret") or "").encode()
    return hmac.new(secret, _CURSOR_KEY_LABEL, hashlib.sha256).digest()


def _fingerprint(path: str, sort: Sequence[tuple[str, bool]], filters: Mapping[str, str]) -> bytes:
    document = [path, [list(key) for key in sort], sorted(filters.items())]
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _mac(secret: bytes, fingerprint: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, fingerprint + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, Decimal | float) and not isinstance(value, bool):
        return {"n": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and value.keys() == {"t"} and isinstance(value["t"], str):
        return datetime.datetime.fromisoformat(value["t"])
    if isinstance(value, dict) and value.keys() == {"n"} and isinstance(value["n"], str):
        return Decimal(value["n"])
    if value is None or isinstance(value, str | int):
        return value
    raise ValueError("bad value in cursor")


def _decode(params: ListParams, token: str) -> tuple[Any, ...]:
    """The sort keys in ``token``; ``ValueError`` unless this list signed it for this query."""
    if len(token) > MAX_CURSOR_LENGTH:
        raise ValueError("too long")
    try:
        encoded_payload, encoded_mac = token.split(".")
        payload, mac = _unb64(encoded_payload), _unb64(encoded_mac)
    except (ValueError, binascii.Error):
        raise ValueError("malformed cursor") from None
    if not hmac.compare_digest(mac, _mac(params.secret, params.fingerprint, payload)):
        raise ValueError("cursor signature mismatch")
    keys = json.loads(payload)
    if not isinstance(keys, list) or len(keys) != len(params.sort):
        raise ValueError("cursor does not match the sort")
    return tuple(_decode_value(value) for value in keys)
