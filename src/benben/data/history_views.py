"""``GET /api/v1/collections/{cid}/history``: who changed what, when, newest first.

Only callers who may read every record of the collection see it (entries hold records' values);
others who see the collection get 403.  Filters: ``record_id``, ``resource``
(collection|record), ``action`` (create|update|delete), ``user_id``, ``_since`` / ``_before``
(on ``timestamp``, the change's last_modified, exclusive).  The API's list convention
(:mod:`benben.listing`): ``_limit``, ``_cursor``, ``_sort`` (``id`` or ``timestamp``; default
``-id``), ``_count``.  A collection deleted and created again under the same id
starts a new history: entries of its predecessor are not shown (retention drops them).
"""

from __future__ import annotations

import re
from typing import Any

from pyramid.request import Request
from sqlalchemy import func, select

from benben.data.bodies import HISTORY_ENTRY
from benben.data.models import HistoryEntry
from benben.data.resources import HistoryResource
from benben.data.validation import RECORD_ID, invalid
from benben.listing import Listing, ListParams, fetch_page, list_response
from benben.rest import Parameter, Service
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
_FILTERS = (
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
)
HISTORY = Listing(
    sortable=("id", "timestamp"),
    default_sort="-id",
    default_limit="benben.data.page_size",
    max_limit="benben.data.max_page_size",
    filters=_FILTERS,
)


@history.get(
    permission=READ,
    summary="The history of a collection, newest first",
    parameters=HISTORY.parameters(),
    responses={200: HISTORY.response("A page of history entries", HISTORY_ENTRY, "HistoryList")},
)
def history_view(request: Request) -> dict[str, Any]:
    listing = HISTORY.parse(request)
    context: HistoryResource = request.context
    assert context.collection is not None
    params = _params(listing)
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
    columns = {"id": HistoryEntry.id, "timestamp": HistoryEntry.timestamp}
    page = fetch_page(session, query, listing, columns)
    data = [_entry(entry) for entry in page.items]
    return list_response(request, data, page.next_cursor, page.total)


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


def _params(listing: ListParams) -> dict[str, Any]:
    errors: list[dict[str, str]] = []
    params: dict[str, Any] = {}

    def bad(name: str, message: str) -> None:
        errors.append({"location": "querystring", "name": name, "message": message})

    get = listing.filters
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
    if errors:
        raise invalid(errors)
    return params
