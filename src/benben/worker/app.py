"""The Celery app of one Benben app: built from the ``benben.worker.*`` settings, one per Pyramid
registry (tests build many apps in one process; nothing here is a module global).

The configuration is the "no task lost" set of Celery's own documentation: a message is
acknowledged after its task ran (``task_acks_late``), also rejected back to the queue when the
process running it dies (``task_reject_on_worker_lost``), reserved one at a time
(``worker_prefetch_multiplier``), redelivered by Redis after ``visibility_timeout``, published
with confirmations on RabbitMQ (``confirm_publish``), and cancelled when the worker loses its
broker connection (the broker will redeliver it: running it on would run it twice at once).
A task may therefore run more than once: every Benben task is idempotent, and what matters is
driven from durable state (the change feed, outbox rows), which the periodic sweeps re-read.

The embedded default (no broker) runs on kombu's ``memory://`` transport, which is one dict per
process: each app's queues, exchanges and control names carry a prefix of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import partial
from typing import Any

from celery import Celery
from kombu import Exchange, Queue

__all__ = [
    "CELERY_KEY",
    "DEFAULT_QUEUE",
    "EMBEDDED_BROKER",
    "WAKE_TASK",
    "build_celery",
    "is_embedded",
    "route_task",
]

CELERY_KEY = "benben.worker.celery"
DEFAULT_QUEUE = "benben"
EMBEDDED_BROKER = "memory://"
WAKE_TASK = "benben.worker.wake"  # a task that does nothing (benben.worker.embedded's stop)
_PREFIX_KEY = "benben_queue_prefix"  # on the Celery app's conf: the embedded app's own prefix
_ROUTES_KEY = "benben_routes"  # on the Celery app's conf: task name -> physical queue


def is_embedded(settings: Mapping[str, Any]) -> bool:
    """Whether tasks run in the serving process (``benben.worker.embedded``; auto: no broker)."""
    choice = settings["benben.worker.embedded"]
    if choice == "auto":
        return not settings["benben.worker.broker_url"]
    return bool(choice == "on")


def build_celery(settings: Mapping[str, Any]) -> Celery:
    """A Celery app configured from Benben's settings (not the current or default app)."""
    broker = settings["benben.worker.broker_url"] or EMBEDDED_BROKER
    embedded = not settings["benben.worker.broker_url"]
    # memory:// is shared by every app of the process: a prefix keeps each app's queues apart.
    prefix = settings["benben.worker.queue_prefix"]
    if embedded:
        prefix = f"{prefix}benben-{uuid.uuid4().hex[:12]}."
    app = Celery("benben", set_as_current=False, broker=broker)
    routes: dict[str, str] = {}
    default = f"{prefix}{DEFAULT_QUEUE}"
    transport_options: dict[str, Any] = {
        "visibility_timeout": settings["benben.worker.visibility_timeout"],
    }
    if embedded:
        # memory:// is polled (1 s by default): a task waits at most this long for its thread.
        transport_options["polling_interval"] = 0.1
    if broker.startswith(("amqp", "pyamqp")):
        # Without confirmations, a publish the broker never took can be lost without an error.
        transport_options["confirm_publish"] = True
    app.conf.update(
        {
            _PREFIX_KEY: prefix,
            "broker_transport_options": transport_options,
            "broker_connection_retry_on_startup": True,
            # A worker keeps retrying a lost broker; a web process's publish is bounded (tasks.py).
            "broker_connection_max_retries": None,
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": settings["benben.worker.prefetch"],
            "worker_cancel_long_running_tasks_on_connection_loss": True,
            "task_serializer": "json",
            "result_serializer": "json",
            "event_serializer": "json",
            "accept_content": ["json"],
            "result_accept_content": ["json"],
            # Benben's tasks report through the database, never through results.
            "task_ignore_result": True,
            "result_backend": None,
            "result_expires": None,  # else beat schedules celery.backend_cleanup
            "task_default_queue": default,
            "task_default_exchange": default,
            "task_default_routing_key": default,
            "task_queues": [_queue(default)],
            "task_create_missing_queues": True,
            _ROUTES_KEY: routes,
            # Read at each send: tasks declared after the router was first used still route.
            "task_routes": (partial(_route, routes),),
            "control_exchange": f"{prefix}celery",
            "event_exchange": f"{prefix}celeryev",
            # Benben configured logging already (its format, its handlers).
            "worker_hijack_root_logger": False,
            "worker_redirect_stdouts": False,
            # Periodic tasks are sweeps: a tick missed across a restart is harmless, so the
            # schedule lives in memory, never in a shelve file in the working directory.
            "beat_scheduler": "celery.beat:Scheduler",
            "beat_schedule": {},
            "enable_utc": True,
            "timezone": "UTC",
        }
    )
    if embedded:
        app.conf.update(
            {
                "worker_enable_remote_control": False,
                "worker_send_task_events": False,
            }
        )
    app.finalize()  # tasks registered later are built at once, not as lazy proxies
    return app


def route_task(app: Celery, task: str, queue: str | None) -> str:
    """Send ``task`` to ``queue`` (default: ``benben``); the broker's name of that queue for
    this app (the embedded app's prefix added), declared among the app's queues so that its
    workers consume it."""
    name = f"{app.conf.get(_PREFIX_KEY, '')}{queue or DEFAULT_QUEUE}"
    queues = app.conf.task_queues
    if all(existing.name != name for existing in queues):
        app.conf.task_queues = [*queues, _queue(name)]
    app.conf[_ROUTES_KEY][task] = name
    return name


def _route(
    routes: Mapping[str, str], name: str, *args: Any, **kwargs: Any
) -> dict[str, str] | None:
    queue = routes.get(name)
    return {"queue": queue} if queue else None


def _queue(name: str) -> Queue:
    return Queue(name, Exchange(name, type="direct"), routing_key=name)
