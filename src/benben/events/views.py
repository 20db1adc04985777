"""``GET /api/v1/events``: the change feed, for administrators (events carry every change's
data, whoever may read it).

Like a list's envelope, plus ``position``: ``{"data", "next", "position"}``, read forwards:
``_cursor`` is the last position read (``"<tx>-<id>"``, or ``0-0`` for the oldest kept event),
``_limit`` the page size, ``type`` (comma-separated exact types) and ``collection`` filters.  A
feed has no last page: ``next`` is always the URL to poll for what follows (the same cursor when
nothing followed).  A cursor behind what retention deleted answers 410 with ``resume_at``.
"""

from __future__ import annotations

import re
from typing import Any

from pyramid.request import Request

from benben.errors import ProblemError
from benben.events.event import START, FeedGapError, FeedPosition, check_event_type
from benben.events.feed import read_events
from benben.listing import invalid_parameter, list_envelope
from benben.rest import Parameter, Response, Service
from benben.security.permissions import ADMIN
from benben.security.resources import Root

__all__ = ["EVENT_SCHEMA", "FEED_PAGE_SCHEMA", "events", "includeme"]

events = Service(
    name="api.events",
    path="/api/v1/events",
    factory=Root,
    tags=["events"],
    description="The change feed: every committed change, in order.",
)

EVENT_SCHEMA: dict[str, Any] = {
    "title": "Event",
    "type": "object",
    "required": ["id", "type", "timestamp", "actor", "data"],
    "properties": {
        "id": {"type": "string", "description": "The event's position in the feed."},
        "type": {"type": "string", "examples": ["record.created"]},
        "timestamp": {"type": "string", "format": "date-time"},
        "actor": {"type": ["string", "null"], "description": "The user who made the change."},
        "data": {"type": "object", "description": "What changed (docs/events.md)."},
    },
}

# Not the list envelope of docs/api-conventions.md (no _sort, no _count, no last page): its
# own shape, which also names the position reached.
FEED_PAGE_SCHEMA: dict[str, Any] = {
    "title": "EventFeedPage",
    "type": "object",
    "required": ["data", "next", "position"],
    "properties": {
        "data": {"type": "array", "items": EVENT_SCHEMA},
        "next": {"type": "string", "description": "The URL to poll for the events that follow."},
        "position": {"type": "string", "description": "The last position read: `_cursor`."},
    },
}

_COLLECTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_ACCEPTED = ("_cursor", "_limit", "type", "collection")
_MAX_LIMIT = 1000


@events.get(
    permission=ADMIN,
    summary="Read the change feed forwards from a position",
    parameters=[
        Parameter(
            "_cursor",
            schema={"type": "string", "pattern": "^[0-9]+-[0-9]+$"},
            description="The last position read (default `0-0`: the oldest event kept).",
        ),
        Parameter(
            "_limit",
            schema={"type": "string", "pattern": "^[0-9]+$"},
            description=f"Events per page, 1 to {_MAX_LIMIT} (default 100).",
        ),
        Parameter("type", description="Only these event types (comma-separated, exact)."),
        Parameter("collection", description="Only events about this collection."),
    ],
    responses={
        200: Response("Events after the cursor", FEED_PAGE_SCHEMA),
        410: Response("Retention deleted events after the cursor (`resume_at`)"),
    },
)
def events_view(request: Request) -> dict[str, Any]:
    after, limit, types, collection = _params(request)
    try:
        page = read_events(
            request.dbsession,
            after,
            limit=limit,
            types=types,
            collection_ids=[collection] if collection else None,
        )
    except FeedGapError as gap:
        raise ProblemError(
            410,
            type="urn:benben:problem:feed-gap",
            detail=str(gap),
            resume_at=str(gap.resume_at),
        ) from None
    last = page[-1].position if page else after
    body, headers = list_envelope(request, [event.payload() for event in page], str(last))
    request.response.headers.update(headers)
    return {**body, "position": str(last)}


def _params(request: Request) -> tuple[FeedPosition, int, list[str] | None, str | None]:
    for name in request.GET:
        if name not in _ACCEPTED:
            raise invalid_parameter(name, f"unknown parameter; accepted: {', '.join(_ACCEPTED)}")
    if len(request.GET) != len(set(request.GET)):
        twice = next(name for name in request.GET if len(request.GET.getall(name)) > 1)
        raise invalid_parameter(twice, "must be given at most once")
    after = START
    if "_cursor" in request.GET:
        try:
            after = FeedPosition.parse(request.GET["_cursor"])
        except ValueError:
            raise invalid_parameter("_cursor", "must be a feed position, like 0-0") from None
    limit = 100
    if "_limit" in request.GET:
        raw = request.GET["_limit"]
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= _MAX_LIMIT):
            raise invalid_parameter("_limit", f"must be an integer from 1 to {_MAX_LIMIT}")
        limit = int(raw)
    types = None
    if "type" in request.GET:
        try:
            types = [check_event_type(name) for name in request.GET["type"].split(",")]
        except ValueError as exc:
            raise invalid_parameter("type", str(exc)) from None
    collection = request.GET.get("collection")
    if collection is not None and not _COLLECTION.fullmatch(collection):
        raise invalid_parameter("collection", "is not a collection id")
    return after, limit, types, collection


def includeme(config: Any) -> None:
    config.add_cornice_service(events)
