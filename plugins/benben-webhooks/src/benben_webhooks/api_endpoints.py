"""``/api/v1/webhooks``: endpoints (subscriptions) — list, create, read, change, delete, and
their signing secret's rotation.  A secret is shown once: in the 201 that created it."""

from __future__ import annotations

import datetime
from typing import Any

from pyramid.httpexceptions import HTTPNoContent
from sqlalchemy import select

from benben.plugin import Listing, Parameter, Request, Response, Service, fetch_page, list_response

from .jsonview import endpoint_json, new_id, utcnow
from .models import Endpoint
from .resources import (
    CREATE,
    ENDPOINT_IN_PATH,
    READ,
    WRITE,
    WebhookResource,
    WebhooksRoot,
    is_admin,
)
from .schemas import CREATED_ENDPOINT, ENDPOINT, ENDPOINT_CREATE, ENDPOINT_UPDATE, ROTATED_SECRET
from .settings import get_settings
from .signing import new_secret
from .tasks import endpoints_changed
from .validation import answers_refusals, check_collections, check_event_types, check_url

__all__ = ["SERVICES", "endpoint_item", "endpoints", "rotate_secret"]

TAGS = ["webhooks"]

endpoints = Service(
    name="webhooks.endpoints",
    path="/api/v1/webhooks",
    factory=WebhooksRoot,
    tags=TAGS,
    description="Webhook endpoints: where events are POSTed, signed.",
)
endpoint_item = Service(
    name="webhooks.endpoint", path="/api/v1/webhooks/{id}", factory=WebhookResource, tags=TAGS
)
rotate_secret = Service(
    name="webhooks.endpoint.rotate_secret",
    path="/api/v1/webhooks/{id}/secret/rotate",
    factory=WebhookResource,
    tags=TAGS,
)

ENDPOINTS = Listing(
    sortable=("created_at", "url"),
    default_sort="created_at",
    filters=(
        Parameter(
            "enabled",
            schema={"type": "string", "enum": ["true", "false"]},
            description="Only endpoints enabled (`true`) or disabled (`false`).",
        ),
    ),
)
_SHOWN_ONCE = {"Location": "The endpoint's URL.", "Cache-Control": "`no-store`."}


@endpoints.get(
    permission=READ,
    operation_id="listWebhooks",
    summary="List webhook endpoints",
    description="Yours; an administrator sees every user's. Secrets are never listed.",
    parameters=ENDPOINTS.parameters(),
    responses={200: ENDPOINTS.response("A page of endpoints.", ENDPOINT, "WebhookList")},
)
def list_endpoints_view(request: Request) -> dict[str, Any]:
    params = ENDPOINTS.parse(request)
    query = select(Endpoint)
    if not is_admin(request):
        query = query.where(Endpoint.owner_id == request.identity.user_id)
    if "enabled" in params.filters:
        query = query.where(Endpoint.enabled.is_(params.filters["enabled"] == "true"))
    columns = {"created_at": Endpoint.created_at, "url": Endpoint.url, "id": Endpoint.id}
    page = fetch_page(request.dbsession, query, params, columns)
    data = [endpoint_json(endpoint) for endpoint in page.items]
    return list_response(request, data, page.next_cursor, page.total)


@endpoints.post(
    permission=CREATE,
    operation_id="createWebhook",
    summary="Create a webhook endpoint",
    description="Any user may subscribe to events about collections they may read; an empty "
    "`collections` (every event, users' and groups' included) is for administrators. "
    "Benben generates the signing secret (Standard Webhooks, `whsec_...`): it is in this "
    "response only.",
    body_schema=ENDPOINT_CREATE,
    responses={
        201: Response("Created; `secret` is shown this once.", CREATED_ENDPOINT, _SHOWN_ONCE),
        403: "A collection you may not read (or that does not exist), or a subscription only "
        "administrators may make (`errors` points at it).",
    },
)
@answers_refusals
def create_endpoint_view(request: Request) -> dict[str, Any]:
    body = request.validated
    settings = get_settings(request.registry)
    url = check_url(body["url"], settings)
    requested_types = body.get("event_types", ["*"])
    event_types = check_event_types(requested_types)
    collections = check_collections(request, body.get("collections", []), requested_types)
    now = utcnow()
    endpoint = Endpoint(
        id=new_id(),
        owner_id=request.identity.user_id,
        url=url,
        description=body.get("description", ""),
        event_types=event_types,
        collections=collections,
        enabled=body.get("enabled", True),
        secret=new_secret(),
        max_in_flight=body.get("max_in_flight", settings.max_in_flight),
        created_at=now,
        updated_at=now,
    )
    request.dbsession.add(endpoint)
    request.dbsession.flush()
    endpoints_changed(request.registry)  # this process wakes the fan-out for it at once
    return _with_secret(request, endpoint)


@endpoint_item.get(
    permission=READ,
    operation_id="getWebhook",
    summary="A webhook endpoint",
    parameters=[ENDPOINT_IN_PATH],
    responses={200: Response("The endpoint, without its secret.", ENDPOINT)},
)
def get_endpoint_view(request: Request) -> dict[str, Any]:
    return endpoint_json(request.context.endpoint)


@endpoint_item.patch(
    permission=WRITE,
    operation_id="updateWebhook",
    summary="Change a webhook endpoint",
    description="The members given replace the endpoint's, the others are kept; the same "
    "rules as on creation. `enabled: true` on an endpoint that was disabled (by its owner, or "
    "by Benben after failing) clears `disabled_reason` and `failing_since`: deliveries start "
    "again.",
    parameters=[ENDPOINT_IN_PATH],
    body_schema=ENDPOINT_UPDATE,
    responses={
        200: Response("The changed endpoint.", ENDPOINT),
        403: "A collection you may not read, or a subscription only administrators may make.",
    },
)
@answers_refusals
def update_endpoint_view(request: Request) -> dict[str, Any]:
    endpoint: Endpoint = request.context.endpoint
    body = request.validated
    if "url" in body:
        endpoint.url = check_url(body["url"], get_settings(request.registry))
    if "event_types" in body or "collections" in body:
        requested_types = body.get("event_types", endpoint.event_types)
        event_types = check_event_types(requested_types)
        collections = body.get("collections", endpoint.collections)
        endpoint.collections = check_collections(request, collections, requested_types)
        endpoint.event_types = event_types
    if "description" in body:
        endpoint.description = body["description"]
    if "max_in_flight" in body:
        endpoint.max_in_flight = body["max_in_flight"]
    if body.get("enabled") is True and (not endpoint.enabled or endpoint.disabled_reason):
        endpoint.enabled = True
        endpoint.disabled_reason = None
        endpoint.failing_since = None
        endpoints_changed(request.registry)
    elif body.get("enabled") is False:
        endpoint.enabled = False
    endpoint.updated_at = utcnow()
    return endpoint_json(endpoint)


@endpoint_item.delete(
    permission=WRITE,
    operation_id="deleteWebhook",
    summary="Delete a webhook endpoint",
    description="Its deliveries and their log go with it; nothing more is sent.",
    parameters=[ENDPOINT_IN_PATH],
    responses={204: "Deleted."},
)
def delete_endpoint_view(request: Request) -> HTTPNoContent:
    request.dbsession.delete(request.context.endpoint)
    return HTTPNoContent()


@rotate_secret.post(
    permission=WRITE,
    operation_id="rotateWebhookSecret",
    summary="Rotate a webhook endpoint's signing secret",
    description="A new secret, shown in this response only. The one it replaces still signs "
    "for `benben.webhooks.secret_overlap_hours` (each delivery then carries both signatures), "
    "so that the receiver can switch without refusing a delivery; a secret replaced before "
    "that stops signing at once.",
    parameters=[ENDPOINT_IN_PATH],
    responses={201: Response("The new secret, shown this once.", ROTATED_SECRET, _SHOWN_ONCE)},
)
def rotate_secret_view(request: Request) -> dict[str, Any]:
    endpoint: Endpoint = request.context.endpoint
    overlap = datetime.timedelta(hours=get_settings(request.registry).secret_overlap_hours)
    now = utcnow()
    if overlap:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + overlap
    else:
        endpoint.previous_secret = None
        endpoint.previous_secret_expires_at = None
    endpoint.secret = new_secret()
    endpoint.updated_at = now
    return _with_secret(request, endpoint)


def _with_secret(request: Request, endpoint: Endpoint) -> dict[str, Any]:
    """The 201 showing the endpoint's secret: the only answer that ever does."""
    request.response.status_code = 201
    request.response.headers["Location"] = request.route_url("webhooks.endpoint", id=endpoint.id)
    request.response.headers["Cache-Control"] = "no-store"
    return {**endpoint_json(endpoint), "secret": endpoint.secret}


SERVICES = (endpoints, endpoint_item, rotate_secret)
