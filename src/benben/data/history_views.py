"""``GET /api/v1/collections/{cid}/history``: who changed what, when, newest first.

Only callers who may read every record of the collection see it (entries hold records' values);
others who see the collection get 403.  Filters: ``record_id``, ``resource``
(collection|record), ``action`` (create|update|delete), ``user_id``, ``_since`` / ``_before``
(on ``timestamp``, the change's last_modified, exclusive).  Pages: ``_limit`` and the opaque
``_cursor`` of the ``next`` link.  A collection deleted and created again under the same id
starts a new history: entries of its predecessor are not shown (retention drops them).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from pyramid.request import Request
from sqlalchemy import func, select

from benben.data.bodies import HISTORY_LIST
from benben.data.http import accept_params
from benben.data.models import HistoryEntry
from benben.data.resources import HistoryResource
from benben.data.validation import RECORD_ID, invalid
from benben.rest import Parameter, Response, Service
from benben.security.permissions import READ

__all__ = ["history"]

history = Service(
    name="api.data.history",
    path="/api/v1/collections/{cid}/history",
    factory=HistoryResource,
    tags=["data"],
    description="The changes of a collection and its records.",
)

_INTEGER = re.compile(r"[0-9]{1,18}")
_RECORD_ID = re.compile(RECORD_ID)
_USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_CHOICES = {"resource": ("collection", "record"), "action": ("create", "update", "delete")}
_PARAMETERS = [
    Parameter("record_id", description="Changes of this record only."),
    Parameter("resource", schema={"type": "string", "enum": list(_CHOICES["resource"])}),
    Parameter("action", schema={"type": "string", "enum": list(_CHOICES["action"])}),
    Parameter("user_id", description="Changes made by this user only."),
    Parameter(
        "_since",
        schema={"type": "string", "pattern": "^[0-9]+$"},
        description="Changes after this timestamp (epoch ms).",
    ),
    Parameter(
        "_before",
        schema={"type": "string", "pattern": "^[0-9]+$"},
        description="Changes before this timestamp (epoch ms).",
    ),
    Parameter("_limit", schema={"type": "string", "pattern": "^[0-9]+$"}),
    Parameter("_cursor", description="From the previous page's next link."),
]


@history.get(
    permission=READ,
    summary="The history of a collection, newest first",
    parameters=_PARAMETERS,
    responses={
        200: Response(
            "A page of history entries", HISTORY_LIST, {"Link": 'The next page, rel="next"'}
        )
    },
)
def history_view(request: Request) -> dict[str, Any]:
    names = [p.name for p in _PARAMETERS]
    accept_params(request, names)
    context: HistoryResource = request.context
    assert context.collection is not None
    params, limit, after = _params(request)
    table = HistoryEntry.__table__.c
    session = request.dbsession
    # Where this incarnation of the collection id began.
    start = session.scalar(
        select(func.max(table.id)).where(
            table.collection_id == context.collection.id,
            table.resource == "collection",
            table.action == "create",
        )
    )
    query = select(HistoryEntry).where(HistoryEntry.collection_id == context.collection.id)
    if start is not None:
        query = query.where(HistoryEntry.id >= start)
    for name in ("record_id", "resource", "action", "user_id"):
        if name in params:
            query = query.where(getattr(HistoryEntry, name) == params[name])
    if "_since" in params:
        query = query.where(HistoryEntry.timestamp > params["_since"])
    if "_before" in params:
        query = query.where(HistoryEntry.timestamp < params["_before"])
    if after is not None:
        query = query.where(HistoryEntry.id < after)
    entries = list(session.scalars(query.order_by(HistoryEntry.id.desc()).limit(limit + 1)))
    more = len(entries) > limit
    entries = entries[:limit]
    next_url = None
    if more:
        cursor = base64.urlsafe_b64encode(f"h{entries[-1].id}".encode()).decode().rstrip("=")
        query_string = {k: v for k, v in request.GET.items() if k != "_cursor"}
        next_url = request.route_url(
            "api.data.history",
            cid=context.collection.id,
            _query={**query_string, "_cursor": cursor},
        )
        request.response.headers["Link"] = f'<{next_url}>; rel="next"'
    return {"data": [_entry(entry) for entry in entries], "next": next_url}


def _entry(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "timestamp": entry.timestamp,
        "action": entry.action,
        "resource": entry.resource,
        "record_id": entry.record_id,
        "user_id": entry.user_id,
        "data": entry.data,
        "previous": entry.previous,
    }


def _params(request: Request) -> tuple[dict[str, Any], int, int | None]:
    settings = request.registry.settings
    errors: list[dict[str, str]] = []
    params: dict[str, Any] = {}

    def bad(name: str, message: str) -> None:
        errors.append({"location": "querystring", "name": name, "message": message})

    get = request.GET
    if "record_id" in get:
        if _RECORD_ID.fullmatch(get["record_id"]):
            params["record_id"] = get["record_id"]
        else:
            bad("record_id", "is not a record id")
    if "user_id" in get:
        if _USER_ID.fullmatch(get["user_id"]):
            params["user_id"] = get["user_id"]
        else:
            bad("user_id", "is not a user id")
    for name, choices in _CHOICES.items():
        if name in get:
            if get[name] in choices:
                params[name] = get[name]
            else:
                bad(name, f"must be one of {', '.join(choices)}")
    for name in ("_since", "_before"):
        if name in get:
            if _INTEGER.fullmatch(get[name]):
                params[name] = int(get[name])
            else:
                bad(name, "must be an integer (epoch milliseconds)")
    limit = settings["benben.data.page_size"]
    maximum = settings["benben.data.max_page_size"]
    if "_limit" in get:
        raw = get["_limit"]
        if _INTEGER.fullmatch(raw) and 1 <= int(raw) <= maximum:
            limit = int(raw)
        else:
            bad("_limit", f"must be an integer from 1 to {maximum}")
    after = None
    if "_cursor" in get:
        after = _cursor(get["_cursor"])
        if after is None:
            bad("_cursor", "is not a cursor this API returned")
    if errors:
        raise invalid(errors)
    return params, limit, after


def _cursor(raw: str) -> int | None:
    if len(raw) > 40:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not text.startswith("h") or not _INTEGER.fullmatch(text[1:]):
        return None
    return int(text[1:])
