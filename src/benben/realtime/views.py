"""The change streams and their tickets (see realtime.md).

- ``GET /api/v1/collections/{cid}/changes``: one collection's changes, for whoever may list its
  records;
- ``GET /api/v1/changes``: every collection's changes that the caller may read, or those of
  ``?collections=a,b``; for signed-in callers;
- ``POST /api/v1/changes/tickets``: a single-use ticket for ``?ticket=`` (browsers' EventSource
  cannot send an Authorization header).

A stream opens with a ``ready`` event (``id``: the position it starts after) and a ``retry:``
hint, then sends each change as an unnamed event (``id``: its feed position; data: the event's
JSON, as webhooks and ``/api/v1/events`` show it).  Resuming: ``Last-Event-ID`` (sent by
EventSource when it reconnects) or ``?last_event_id=``.
"""

from __future__ import annotations

import datetime
import json
import re
import time
from typing import Any

from pyramid.request import Request
from pyramid.response import Response as PyramidResponse

from benben.data.acl import acl_permits, collection_acl
from benben.data.models import Collection
from benben.data.resources import RecordsResource
from benben.errors import ProblemError
from benben.events.event import FeedPosition, check_event_type
from benben.events.feed import latest_position
from benben.listing import invalid_input, invalid_parameter
from benben.realtime.dispatcher import SubscriberLimitError, get_dispatcher
from benben.realtime.handoff import stream_response
from benben.realtime.sse import frame
from benben.realtime.stream import Stream
from benben.realtime.subscription import Subscription
from benben.realtime.tickets import TICKET_PARAMETER, mint_ticket
from benben.rest import Parameter, Response, Service
from benben.security.permissions import READ
from benben.security.principals import EVERYONE
from benben.security.resources import Self
from benben.timestamps import utcnow

__all__ = ["READY_EVENT", "includeme"]

READY_EVENT = "ready"
_MAX_COLLECTIONS = 100
_COLLECTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_TYPE_PATTERN = re.compile(r"\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.\*")

all_changes = Service(
    name="api.changes",
    path="/api/v1/changes",
    factory=Self,
    tags=["realtime"],
    description="Changes to the collections the caller may read, as Server-Sent Events.",
)
collection_changes = Service(
    name="api.collection.changes",
    path="/api/v1/collections/{cid}/changes",
    factory=RecordsResource,
    tags=["realtime"],
    description="Changes to one collection, as Server-Sent Events.",
)
tickets = Service(
    name="api.changes.tickets",
    path="/api/v1/changes/tickets",
    factory=Self,
    tags=["realtime"],
    description="Single-use tickets that open a change stream without an Authorization header.",
)

TICKET_SCHEMA: dict[str, Any] = {
    "title": "StreamTicket",
    "type": "object",
    "required": ["ticket", "expires_at", "expires_in"],
    "properties": {
        "ticket": {"type": "string", "description": "Pass it as `?ticket=`, once."},
        "expires_at": {"type": "string", "format": "date-time"},
        "expires_in": {"type": "integer", "description": "Seconds left to redeem it."},
    },
}

_STREAM_PARAMETERS = [
    Parameter(
        "types",
        description="Only these event types: comma-separated exact types or patterns "
        "(`record.*`, `*`). Default: every change to collections and records.",
    ),
    Parameter(
        "last_event_id",
        schema={"type": "string", "pattern": "^[0-9]+-[0-9]+$"},
        description="Resume after this event id (as the `Last-Event-ID` header does).",
    ),
    Parameter(
        "Last-Event-ID",
        location="header",
        schema={"type": "string", "pattern": "^[0-9]+-[0-9]+$"},
        description="Resume after this event id: sent by EventSource when it reconnects.",
    ),
    Parameter(
        TICKET_PARAMETER,
        description="A stream ticket (POST /api/v1/changes/tickets) instead of an "
        "Authorization header: single use, valid seconds.",
    ),
]
_STREAM_RESPONSES = {
    200: Response(
        "The stream: `ready`, then one event per change (`id`: its position), `resync` when "
        "retention deleted events after the position resumed from, `end` before it closes",
        media_type="text/event-stream",
    ),
    429: Response("The caller holds as many streams as one user may", headers={"Retry-After": ""}),
    503: Response("This instance holds as many streams as it may", headers={"Retry-After": ""}),
}
_ACCEPTED = {"types", "last_event_id", TICKET_PARAMETER}


@all_changes.get(
    permission=READ,
    summary="Stream the changes the caller may read",
    parameters=[
        Parameter(
            "collections",
            description=f"Only these collections (comma-separated ids, at most "
            f"{_MAX_COLLECTIONS}). Default: every collection the caller may read.",
        ),
        *_STREAM_PARAMETERS,
    ],
    responses=_STREAM_RESPONSES,
)
def all_changes_view(request: Request) -> PyramidResponse:
    _check_parameters(request, _ACCEPTED | {"collections"})
    collections = None
    if "collections" in request.GET:
        collections = _visible_collections(request, request.GET["collections"])
    return _open(request, collections)


@collection_changes.get(
    permission=READ,
    summary="Stream one collection's changes",
    parameters=_STREAM_PARAMETERS,
    responses=_STREAM_RESPONSES,
)
def collection_changes_view(request: Request) -> PyramidResponse:
    _check_parameters(request, _ACCEPTED)
    return _open(request, frozenset({request.context.collection_id}))


@tickets.post(
    permission=READ,
    summary="Mint a single-use stream ticket",
    responses={201: Response("The ticket", TICKET_SCHEMA)},
)
def mint_ticket_view(request: Request) -> dict[str, Any]:
    settings = request.registry.settings
    lifetime = int(settings["benben.realtime.ticket_seconds"])
    ticket, expires_at = mint_ticket(
        request.dbsession,
        request.identity.user_id,
        _credential(request),  # type: ignore[arg-type]  # a signed-in caller presented one
        lifetime_ms=lifetime * 1000,
    )
    request.response.status_code = 201
    request.response.headers["Cache-Control"] = "no-store"
    moment = datetime.datetime.fromtimestamp(expires_at / 1000, tz=datetime.UTC)
    return {
        "ticket": ticket,
        "expires_at": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "expires_in": lifetime,
    }


def _credential(request: Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    return header.strip().partition(" ")[2].strip() or None


def _check_parameters(request: Request, accepted: set[str]) -> None:
    for name in request.GET:
        if name not in accepted:
            raise invalid_parameter(
                name, f"unknown parameter; accepted: {', '.join(sorted(accepted))}"
            )
        if len(request.GET.getall(name)) > 1:
            raise invalid_parameter(name, "must be given at most once")


def _visible_collections(request: Request, raw: str) -> frozenset[str]:
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if not names:
        raise invalid_parameter("collections", "name at least one collection (comma-separated ids)")
    if len(names) > _MAX_COLLECTIONS:
        raise invalid_parameter("collections", f"at most {_MAX_COLLECTIONS} collections")
    principals = request.identity.principals if request.identity else frozenset({EVERYONE})
    for name in names:
        if not _COLLECTION.fullmatch(name):
            raise invalid_parameter("collections", f"{name[:70]!r} is not a collection id")
        found = request.dbsession.get(Collection, name)
        if found is None or not acl_permits(collection_acl(found), principals, READ):
            # The same answer for both: which collections exist is not the caller's business.
            raise invalid_parameter("collections", f"no collection {name!r} that you may read")
    return frozenset(names)


def _types(request: Request) -> tuple[str, ...]:
    raw = request.GET.get("types")
    if raw is None:
        return ("collection.*", "record.*")
    patterns = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not patterns:
        raise invalid_parameter("types", "name at least one event type or pattern")
    for pattern in patterns:
        if _TYPE_PATTERN.fullmatch(pattern):
            continue
        try:
            check_event_type(pattern)
        except ValueError as exc:
            raise invalid_parameter("types", str(exc)) from None
    return patterns


def _start(request: Request) -> FeedPosition:
    """Where the stream starts: after the event id a resuming client gives, else now."""
    latest = latest_position(request.dbsession)
    header = request.headers.get("Last-Event-ID")
    query = request.GET.get("last_event_id")
    if header is not None and query is not None and header.strip() != query:
        raise invalid_parameter("last_event_id", "differs from the Last-Event-ID header")
    raw = query if query is not None else header
    if raw is None or not raw.strip():
        return latest
    name = "last_event_id" if query is not None else "Last-Event-ID"
    try:
        position = FeedPosition.parse(raw.strip())
    except ValueError:
        raise _bad_position(name, "must be an event id this feed gave, like 812-40") from None
    if position > latest:
        raise _bad_position(
            name,
            f"is ahead of the feed (at {latest}): was the database restored? Reconnect without "
            "it and reload what you show",
        )
    return position


def _bad_position(name: str, message: str) -> ProblemError:
    location = "querystring" if name == "last_event_id" else "header"
    return invalid_input([{"location": location, "name": name, "message": message}])


def _open(request: Request, collections: frozenset[str] | None) -> PyramidResponse:
    settings = request.registry.settings
    types = _types(request)
    position = _start(request)
    identity = request.identity
    now = time.monotonic()
    deadline = now + int(settings["benben.realtime.max_stream_seconds"])
    reason = "max-duration"
    expires_at = identity.expires_at if identity is not None else None
    if expires_at is not None:
        left = (expires_at - utcnow()).total_seconds()
        if now + left < deadline:
            deadline, reason = now + max(left, 0.0), "token-expired"
    stream = Stream(
        max_buffered=int(settings["benben.realtime.max_buffered_bytes"]),
        heartbeat_seconds=float(settings["benben.realtime.heartbeat_seconds"]),
    )
    ready = {
        "position": str(position),
        "collections": sorted(collections) if collections is not None else None,
        "types": list(types),
        "heartbeat_seconds": float(settings["benben.realtime.heartbeat_seconds"]),
        "expires_in": round(deadline - now, 3),
        "end_reason": reason,
    }
    stream.push(
        frame(
            json.dumps(ready),
            event=READY_EVENT,
            id=str(position),
            retry=int(settings["benben.realtime.retry_ms"]),
        )
    )
    subscription = Subscription(
        stream=stream,
        user_id=identity.user_id if identity is not None else None,
        credential=_credential(request) if identity is not None else None,
        principals=identity.principals if identity is not None else frozenset({EVERYONE}),
        collections=collections,
        types=types,
        position=position,
        deadline=deadline,
        deadline_reason=reason,
    )
    try:
        get_dispatcher(request.registry).add(subscription)
    except SubscriberLimitError as exc:
        stream.close("refused")
        status = 429 if exc.scope == "user" else 503
        raise ProblemError(
            status,
            detail=f"This {'user' if exc.scope == 'user' else 'instance'} holds as many change "
            f"streams as it may ({exc.limit}); close one, or retry later.",
            headers={"Retry-After": "5"},
        ) from None
    return stream_response(request, stream)


def includeme(config: Any) -> None:
    config.add_cornice_service(all_changes)
    config.add_cornice_service(collection_changes)
    config.add_cornice_service(tickets)
