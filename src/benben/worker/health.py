"""A worker's (or scheduler's) own small HTTP server: ``/health/live``, ``/health/ready`` and
``/metrics``, on ``benben.worker.health_host``:``benben.worker.health_port`` (0: none).

- ``/health/live``: 200 while the process answers.
- ``/health/ready``: 200 when the broker and the database answer, else 503 with which failed
  (``{"status": "ok"|"unavailable", "checks": {"broker": ..., "database": ...}}``).
- ``/metrics``: the app's Prometheus registry (``benben_task_*``, see
  :mod:`benben.worker.metrics`), with, read at each scrape, ``benben_task_queue_depth{queue}``
  (messages waiting, where the broker tells: Redis and RabbitMQ do) and
  ``benben_feed_consumer_lag{consumer}`` (events a durable consumer has not read yet).

Loopback by default: the probes of an orchestrator reach it with ``health_host = 0.0.0.0``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from pyramid.registry import Registry
from sqlalchemy import func, select, text, tuple_

from benben.worker.tasks import get_celery

__all__ = [
    "HealthServer",
    "WorkerCollector",
    "check_broker",
    "check_database",
    "feed_lag",
    "queue_depths",
]

log = logging.getLogger(__name__)

_CHECK_TIMEOUT = 3.0


def check_database(registry: Registry) -> None:
    from benben.db import get_engine

    with get_engine(registry).connect() as connection:
        connection.execute(text("SELECT 1"))


def check_broker(registry: Registry) -> None:
    with get_celery(registry).connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=_CHECK_TIMEOUT)


def queue_depths(registry: Registry) -> dict[str, int]:
    """Messages waiting in each of the app's queues (passive declarations: none created)."""
    app = get_celery(registry)
    depths: dict[str, int] = {}
    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=_CHECK_TIMEOUT)
        for queue in app.conf.task_queues:
            try:
                channel = connection.channel()
                try:
                    declared = channel.queue_declare(queue.name, passive=True)
                    depths[queue.name] = int(declared.message_count)
                finally:
                    channel.close()
            except Exception:
                # Redis keeps no key for an empty list: empty. RabbitMQ answers 404 for a queue
                # never declared (no worker started yet): no sample.
                if connection.transport.driver_type != "amqp":
                    depths[queue.name] = 0
                log.debug("queue %s: no depth", queue.name, exc_info=True)
    return depths


def feed_lag(registry: Registry) -> dict[str, int]:
    """Events after each durable consumer's position (retention's mark excluded)."""
    from benben.db import get_engine
    from benben.events.feed import PRUNED_MARK
    from benben.events.models import EventRow, FeedConsumer

    events, consumers = EventRow.__table__.c, FeedConsumer.__table__.c
    statement = (
        select(consumers.name, func.count(events.id))
        .select_from(
            FeedConsumer.__table__.outerjoin(
                EventRow.__table__,
                tuple_(events.tx, events.id) > tuple_(consumers.tx, consumers.event_id),
            )
        )
        .where(consumers.name != PRUNED_MARK)
        .group_by(consumers.name)
    )
    with get_engine(registry).connect() as connection:
        return {name: int(count) for name, count in connection.execute(statement)}


class WorkerCollector:
    """Queue depth and feed lag, read when ``/metrics`` is scraped (each failure: no sample)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def describe(self) -> list[Metric]:
        return []  # collected at scrape time only: nothing to run at registration

    def collect(self) -> Iterator[Metric]:
        yield from self._family(
            "benben_task_queue_depth",
            "Messages waiting in a task queue.",
            "queue",
            queue_depths,
        )
        yield from self._family(
            "benben_feed_consumer_lag",
            "Change-feed events a durable consumer has not read yet.",
            "consumer",
            feed_lag,
        )

    def _family(
        self, name: str, help_text: str, label: str, read: Callable[[Registry], dict[str, int]]
    ) -> Iterable[Metric]:
        try:
            values = read(self.registry)
        except Exception as exc:
            log.warning("metrics: %s not read (%s: %s)", name, type(exc).__name__, exc)
            return []
        family = GaugeMetricFamily(name, help_text, labels=[label])
        for key, value in sorted(values.items()):
            family.add_metric([key], value)
        return [family]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("health server: " + format, *args)


class HealthServer:
    """The server, in a daemon thread: :meth:`start`, :meth:`stop`; ``port`` once started."""

    def __init__(self, registry: Registry, host: str, port: int) -> None:
        from benben.observability.metrics import get_metrics

        self.registry = registry
        self.exported = get_metrics(registry).exported
        if self.exported is not None:
            self.exported.register(WorkerCollector(registry))
        self.server: WSGIServer = make_server(host, port, self.app, handler_class=_QuietHandler)
        self.port = self.server.server_port
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="benben-worker-health", daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        log.info("worker health and metrics on port %s", self.port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/health/live":
            return _json(start_response, "200 OK", {"status": "ok"})
        if path == "/health/ready":
            checks = {"broker": check_broker, "database": check_database}
            results = {name: _outcome(check, self.registry) for name, check in checks.items()}
            ready = all(result == "ok" for result in results.values())
            status = "200 OK" if ready else "503 Service Unavailable"
            body = {"status": "ok" if ready else "unavailable", "checks": results}
            return _json(start_response, status, body)
        if path == "/metrics" and self.exported is not None:
            payload = generate_latest(self.exported)
            start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4")])
            return [payload]
        return _json(start_response, "404 Not Found", {"status": "not found"})


def _outcome(check: Callable[[Registry], None], registry: Registry) -> str:
    try:
        check(registry)
        return "ok"
    except Exception as exc:
        log.warning("worker readiness: %s (%s)", type(exc).__name__, exc)
        return "unavailable"


def _json(start_response: Callable[..., Any], status: str, body: Any) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json")])
    return [payload]
