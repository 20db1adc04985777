"""An endpoint's deliveries: the log (``/api/v1/webhooks/{id}/deliveries``), one delivery with
its attempts, manual redelivery (of one, or of everything since a time or a feed position) and
the test event.

Redelivery sends the same message again (same ``webhook-id``, so a receiver that processed it
dedupes): the delivery is pending again, due now, with a fresh retry schedule.  A delivery
being sent right now keeps its worker's lease and is sent again after that attempt.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from sqlalchemy import and_, func, or_, select, update

from benben.plugin import (
    FeedPosition,
    Listing,
    Parameter,
    Request,
    Response,
    Service,
    fetch_page,
    invalid_parameter,
    list_response,
)

from .jsonview import attempt_json, delivery_json, iso, new_id, utcnow
from .models import Attempt, Delivery, Endpoint
from .resources import ENDPOINT_IN_PATH, READ, WRITE, WebhookResource
from .schemas import DELIVERY, DELIVERY_DETAIL, REDELIVER, REDELIVERED
from .settings import get_settings
from .validation import answers_refusals, field_error, invalid
from .wake import wake_sender

__all__ = ["ATTEMPT_LOG_LENGTH", "SERVICES", "TEST_EVENT_TYPE", "test_payload"]

TAGS = ["webhooks"]
TEST_EVENT_TYPE = "webhook.test"
STATUSES = ("pending", "succeeded", "failed", "skipped")
# A delivery shows its latest attempts: a schedule's ten, and a few redeliveries' more.
ATTEMPT_LOG_LENGTH = 50

deliveries = Service(
    name="webhooks.deliveries",
    path="/api/v1/webhooks/{id}/deliveries",
    factory=WebhookResource,
    tags=TAGS,
)
delivery_item = Service(
    name="webhooks.delivery",
    path="/api/v1/webhooks/{id}/deliveries/{delivery_id}",
    factory=WebhookResource,
    tags=TAGS,
)
redeliver_one = Service(
    name="webhooks.delivery.redeliver",
    path="/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    factory=WebhookResource,
    tags=TAGS,
)
redeliver_since = Service(
    name="webhooks.endpoint.redeliver",
    path="/api/v1/webhooks/{id}/redeliver",
    factory=WebhookResource,
    tags=TAGS,
)
send_test = Service(
    name="webhooks.endpoint.test", path="/api/v1/webhooks/{id}/test", factory=WebhookResource,
    tags=TAGS,
)  # fmt: skip

DELIVERY_IN_PATH = Parameter("delivery_id", "path", {"type": "string"}, "The delivery's id.")
DELIVERIES = Listing(
    sortable=("created_at",),
    default_sort="-created_at",
    filters=(
        Parameter(
            "status",
            schema={"type": "string", "enum": list(STATUSES)},
            description="Only deliveries in this state.",
        ),
    ),
)


@deliveries.get(
    permission=READ,
    operation_id="listWebhookDeliveries",
    summary="An endpoint's delivery log",
    description="Newest first: each delivery's state, attempts, last status code, error and "
    "latency.",
    parameters=[ENDPOINT_IN_PATH, *DELIVERIES.parameters()],
    responses={200: DELIVERIES.response("A page of deliveries.", DELIVERY, "WebhookDeliveryList")},
)
@answers_refusals
def list_deliveries_view(request: Request) -> dict[str, Any]:
    params = DELIVERIES.parse(request)
    status = params.filters.get("status")
    if status is not None and status not in STATUSES:
        raise invalid_parameter("status", f"must be one of {', '.join(STATUSES)}")
    endpoint: Endpoint = request.context.endpoint
    query = select(Delivery).where(Delivery.endpoint_id == endpoint.id)
    if status is not None:
        query = query.where(Delivery.status == status)
    columns = {"created_at": Delivery.created_at, "id": Delivery.id}
    page = fetch_page(request.dbsession, query, params, columns)
    tries = _attempt_facts(request, [delivery.id for delivery in page.items])
    data = [delivery_json(d, *tries.get(d.id, (0, None))) for d in page.items]
    return list_response(request, data, page.next_cursor, page.total)


@delivery_item.get(
    permission=READ,
    operation_id="getWebhookDelivery",
    summary="A delivery, its payload and its attempts",
    parameters=[ENDPOINT_IN_PATH, DELIVERY_IN_PATH],
    responses={200: Response("The delivery; response bodies truncated.", DELIVERY_DETAIL)},
)
def get_delivery_view(request: Request) -> dict[str, Any]:
    delivery = _delivery(request)
    latest = request.dbsession.scalars(
        select(Attempt)
        .where(Attempt.delivery_id == delivery.id)
        .order_by(Attempt.id.desc())
        .limit(ATTEMPT_LOG_LENGTH)
    ).all()
    limit = get_settings(request.registry).response_log_bytes
    tries, latency = _attempt_facts(request, [delivery.id]).get(delivery.id, (0, None))
    return {
        **delivery_json(delivery, tries, latency),
        "payload": delivery.payload,
        "attempt_log": [attempt_json(attempt, limit) for attempt in reversed(latest)],
    }


@redeliver_one.post(
    permission=WRITE,
    operation_id="redeliverWebhookDelivery",
    summary="Send a delivery again",
    description="The same message (same `webhook-id`), pending again and due now, whatever "
    "its state.",
    parameters=[ENDPOINT_IN_PATH, DELIVERY_IN_PATH],
    responses={202: Response("Queued.", DELIVERY)},
)
def redeliver_one_view(request: Request) -> dict[str, Any]:
    delivery = _delivery(request)
    _make_due(delivery, utcnow())
    request.dbsession.flush()
    wake_sender(request, delivery.endpoint_id)
    request.response.status_code = 202
    tries = _attempt_facts(request, [delivery.id])
    return delivery_json(delivery, *tries.get(delivery.id, (0, None)))


@redeliver_since.post(
    permission=WRITE,
    operation_id="redeliverWebhookDeliveries",
    summary="Send every delivery since a time or an event again",
    description="`since` (RFC 3339): the deliveries created then or later; `since_event` (a "
    "feed position, `<tx>-<id>`): those of that event and later ones. Succeeded, failed and "
    "skipped ones alike are pending again, due now.",
    parameters=[ENDPOINT_IN_PATH],
    body_schema=REDELIVER,
    responses={202: Response("Queued: how many deliveries.", REDELIVERED)},
)
@answers_refusals
def redeliver_since_view(request: Request) -> dict[str, Any]:
    endpoint: Endpoint = request.context.endpoint
    body = request.validated
    condition: Any
    if "since" in body:
        condition = Delivery.created_at >= _moment(body["since"])
    else:
        try:
            position = FeedPosition.parse(body["since_event"])
        except ValueError:
            raise invalid(field_error("since_event", "is not a feed position")) from None
        condition = or_(
            Delivery.event_tx > position.tx,
            and_(Delivery.event_tx == position.tx, Delivery.event_id >= position.id),
        )
    now = utcnow()
    result = request.dbsession.execute(
        update(Delivery)
        .where(Delivery.endpoint_id == endpoint.id, condition)
        .values(status="pending", next_attempt_at=now, attempts=0)
        .execution_options(synchronize_session=False)
    )
    count = int(result.rowcount or 0)
    if count:
        wake_sender(request, endpoint.id)
    request.response.status_code = 202
    return {"redelivered": count}


@send_test.post(
    permission=WRITE,
    operation_id="testWebhook",
    summary="Send a test event",
    description=f"A `{TEST_EVENT_TYPE}` event, delivered to this endpoint now, signed as "
    "every delivery; its result is in the delivery log.",
    parameters=[ENDPOINT_IN_PATH],
    responses={202: Response("Queued: the delivery.", DELIVERY, {"Location": "The delivery."})},
)
def send_test_view(request: Request) -> dict[str, Any]:
    endpoint: Endpoint = request.context.endpoint
    now = utcnow()
    message_id = "msg_" + new_id().replace("-", "")
    delivery = Delivery(
        id=new_id(),
        endpoint_id=endpoint.id,
        message_id=message_id,
        event_type=TEST_EVENT_TYPE,
        event_tx=0,
        event_id=0,
        payload=test_payload(endpoint, request.identity.user_id, now),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    request.dbsession.add(delivery)
    request.dbsession.flush()
    wake_sender(request, endpoint.id)
    request.response.status_code = 202
    request.response.headers["Location"] = request.route_url(
        "webhooks.delivery", id=endpoint.id, delivery_id=delivery.id
    )
    return delivery_json(delivery, 0, None)


def test_payload(endpoint: Endpoint, actor: str | None, now: datetime.datetime) -> dict[str, Any]:
    """The body of a test event: shaped as every event's (docs/events.md), about no change."""
    return {
        "id": None,
        "type": TEST_EVENT_TYPE,
        "timestamp": iso(now),
        "actor": actor,
        "data": {"webhook": endpoint.id, "message": "A test event from Benben."},
    }


def _delivery(request: Request) -> Delivery:
    delivery_id = request.matchdict["delivery_id"]
    delivery = request.dbsession.get(Delivery, delivery_id) if len(delivery_id) <= 36 else None
    if delivery is None or delivery.endpoint_id != request.context.endpoint.id:
        raise HTTPNotFound()
    return delivery


def _make_due(delivery: Delivery, now: datetime.datetime) -> None:
    delivery.status = "pending"
    delivery.next_attempt_at = now
    delivery.attempts = 0  # a fresh retry schedule


def _attempt_facts(request: Request, ids: Sequence[str]) -> dict[str, tuple[int, int | None]]:
    """For each delivery: how many attempts were recorded, and the last one's latency."""
    if not ids:
        return {}
    rows = request.dbsession.execute(
        select(Attempt.delivery_id, func.count(), func.max(Attempt.id))
        .where(Attempt.delivery_id.in_(ids))
        .group_by(Attempt.delivery_id)
    ).all()
    last_ids = [row[2] for row in rows]
    latencies = dict(
        request.dbsession.execute(
            select(Attempt.id, Attempt.latency_ms).where(Attempt.id.in_(last_ids))
        ).all()
    )
    return {row[0]: (int(row[1]), latencies.get(row[2])) for row in rows}


def _moment(text: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise invalid(field_error("since", "must be an RFC 3339 date-time")) from None
    if moment.tzinfo is None:
        raise invalid(field_error("since", "must include a time zone (Z or +hh:mm)"))
    try:
        return moment.astimezone(datetime.UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in no UTC year
        raise invalid(field_error("since", "is out of range")) from None


SERVICES = (deliveries, delivery_item, redeliver_one, redeliver_since, send_test)
