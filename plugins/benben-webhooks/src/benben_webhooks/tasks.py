"""The delivery side's tasks, registered by :func:`register_delivery` (called by ``includeme``).

- ``webhooks.fanout``: the feed's new events into deliveries (:mod:`.fanout`), batch after
  batch; enqueued after each commit that published events (at most one pending per process,
  :class:`FanOutWaker`) and every :data:`FANOUT_EVERY` seconds by the scheduler, which catches
  whatever a lost message or a dead process missed.
- ``webhooks.send`` (optional argument: an endpoint's id, to look at its deliveries first):
  claims due deliveries, skips those their owner may no longer read, sends the others
  concurrently with no transaction open, records the outcomes (:mod:`.delivery`,
  :mod:`.recording`); enqueued by the fan-out and the API, and every
  :data:`SEND_EVERY` seconds for the retries that came due.

Both are safe on several workers at once, and a worker killed in either loses nothing: the
feed's cursor and the deliveries' leases are in the database.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select

from benben.plugin import (
    Configurator,
    Event,
    Registry,
    Request,
    TaskContext,
    enqueue_task,
    publish_event,
)

from .delivery import Claim, check_claims, claim_due
from .fanout import fan_out_batch
from .models import Endpoint, utcnow
from .recording import Result, record_outcomes
from .sending import send
from .settings import WebhooksSettings, get_settings

__all__ = [
    "FANOUT_EVERY",
    "FANOUT_TASK",
    "SEND_EVERY",
    "SEND_TASK",
    "FanOutWaker",
    "endpoints_changed",
    "fanout_task",
    "register_delivery",
    "send_task",
]

log = logging.getLogger(__name__)

FANOUT_TASK = "webhooks.fanout"
SEND_TASK = "webhooks.send"
QUEUE = "webhooks"  # operators may give delivery workers of its own
FANOUT_EVERY = 5.0  # seconds: the sweep behind the after-commit wake-ups
SEND_EVERY = 2.0  # seconds: how late a retry may come after its time
TASK_BUDGET = 10.0  # seconds a task works before handing over (re-enqueued) to the queue
CLAIM_LIMIT = 8  # deliveries claimed, and sent concurrently, at once (by one task)
WAKER_KEY = "benben_webhooks.fanout_waker"
DEBOUNCE = 0.1  # seconds: at most one fan-out enqueued per process per interval
# Seconds a process trusts what it last read of whether any endpoint is enabled: without one,
# writes wake no fan-out (the periodic one keeps the cursor moving); an endpoint created in
# another process is woken for within this, and the periodic sweep covers the rest.
ENDPOINTS_RECHECK = FANOUT_EVERY


def register_delivery(config: Configurator) -> None:
    """Declare the tasks, their periodic runs and the after-commit listener."""
    config.add_task(FANOUT_TASK, fanout_task, queue=QUEUE)
    config.add_task(SEND_TASK, send_task, queue=QUEUE)
    config.add_periodic_task(FANOUT_TASK, FANOUT_EVERY)
    config.add_periodic_task(SEND_TASK, SEND_EVERY)
    waker = config.registry[WAKER_KEY] = FanOutWaker(config.registry)
    config.add_event_listener(waker, "*")


def endpoints_changed(registry: Registry) -> None:
    """Tell this process's fan-out waker that an endpoint was created or enabled."""
    waker = registry.get(WAKER_KEY)
    if waker is not None:
        waker.endpoints_changed()


def fanout_task(ctx: TaskContext) -> int:
    """Fan out batches until the feed is read or the budget is spent; the deliveries made."""
    settings = get_settings(ctx.registry)
    deadline = time.monotonic() + TASK_BUDGET
    made = 0
    while True:
        with ctx.transaction() as request:
            done = fan_out_batch(request, max_payload_bytes=settings.max_payload_bytes)
            if done.deliveries:
                enqueue_task(request, SEND_TASK)  # once this batch commits
        made += done.deliveries
        if not done.more:
            return made
        if time.monotonic() > deadline:
            enqueue_task(ctx.registry, FANOUT_TASK)  # the rest, after what else is queued
            return made


def send_task(ctx: TaskContext, endpoint_id: str | None = None) -> int:
    """Send due deliveries (``endpoint_id``'s first) until none is due or the budget is spent;
    the attempts made."""
    settings = get_settings(ctx.registry)
    deadline = time.monotonic() + TASK_BUDGET
    made = 0
    while True:
        with ctx.transaction() as request:
            claims = claim_due(
                request.dbsession,
                timeout=settings.timeout,
                limit=CLAIM_LIMIT,
                endpoint_id=endpoint_id,
            )
        if not claims:
            if endpoint_id is None:
                return made
            endpoint_id = None  # that endpoint's are done: the others'
            continue
        with ctx.transaction() as request:
            allowed = check_claims(request.dbsession, claims)
        if not allowed:
            continue
        results = send_claims(allowed, settings)
        with ctx.transaction() as request:

            def publish(event_type: str, data: dict[str, Any], request: Request = request) -> None:
                publish_event(request, event_type, data)

            record_outcomes(
                request.dbsession,
                results,
                disable_after=datetime.timedelta(hours=settings.disable_after_hours),
                publish=publish,
            )
        made += len(allowed)
        if time.monotonic() > deadline:
            enqueue_task(ctx.registry, SEND_TASK)
            return made


def send_claims(claims: list[Claim], settings: WebhooksSettings) -> list[Result]:
    """Send each claim (concurrently), signed at its attempt's time; no transaction is open."""
    networks = settings.networks()

    def attempt(claim: Claim) -> Result:
        attempted_at = utcnow()
        outcome = send(
            claim.url,
            claim.body,
            claim.headers(attempted_at),
            timeout=settings.timeout,
            allowed_networks=networks,
            allow_http=settings.allow_http,
            response_log_bytes=settings.response_log_bytes,
        )
        return Result(claim, attempted_at, outcome)

    if len(claims) == 1:
        return [attempt(claims[0])]
    with ThreadPoolExecutor(max_workers=len(claims), thread_name_prefix="webhooks") as pool:
        return list(pool.map(attempt, claims))


class FanOutWaker:
    """The ``*`` event listener: after a commit that published events, enqueue one fan-out; at
    most one per :data:`DEBOUNCE` per process, a later one sent when the interval ends (so no
    event waits for the periodic sweep).  Nothing while no endpoint is enabled: an instance
    without webhooks pays one cheap query per :data:`ENDPOINTS_RECHECK`, not a task per write
    (measured on the embedded default: a POST cost 3,700 us of CPU with the wake-ups, 2,300
    without)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.lock = threading.Lock()
        self.last = 0.0
        self.timer: threading.Timer | None = None
        self.endpoints_enabled = False
        self.recheck_at = 0.0

    def endpoints_changed(self) -> None:
        """An endpoint was created or enabled in this process: look again at the next event."""
        self.recheck_at = 0.0

    def _any_endpoint(self, request: Request) -> bool:
        now = time.monotonic()
        if now >= self.recheck_at:
            self.recheck_at = now + ENDPOINTS_RECHECK
            try:  # a connection of its own: the request's transaction is over
                with request.dbsession.get_bind().connect() as connection:
                    query = select(Endpoint.id).where(Endpoint.enabled.is_(True)).limit(1)
                    self.endpoints_enabled = connection.execute(query).first() is not None
            except Exception as exc:  # in doubt, wake: the fan-out decides
                log.warning("webhooks: endpoints not checked (%s: %s)", type(exc).__name__, exc)
                self.endpoints_enabled = True
        return self.endpoints_enabled

    def __call__(self, event: Event, request: Request) -> None:
        if not self._any_endpoint(request):
            return
        with self.lock:
            if self.timer is not None:
                return  # one is on its way: it will see this event too
            wait = self.last + DEBOUNCE - time.monotonic()
            if wait > 0:
                self.timer = threading.Timer(wait, self.fire)
                self.timer.daemon = True
                self.timer.start()
                return
            self.last = time.monotonic()
        self.enqueue()

    def fire(self) -> None:
        with self.lock:
            self.timer = None
            self.last = time.monotonic()
        self.enqueue()

    def enqueue(self) -> None:
        try:
            enqueue_task(self.registry, FANOUT_TASK)
        except Exception as exc:  # the broker is down: the periodic fan-out catches up
            log.warning("webhooks: fan-out not enqueued (%s: %s)", type(exc).__name__, exc)
