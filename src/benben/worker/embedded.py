"""The embedded default: tasks and the schedule run inside the serving process, no broker.

With ``benben.worker.embedded`` on (auto: when ``benben.worker.broker_url`` is empty), ``benben
serve`` starts, once its app is built, :class:`EmbeddedWorker`: a Celery worker (pool solo) in a
thread consuming the app's ``memory://`` queues, and the schedule under the scheduler lock (see
:mod:`benben.worker.scheduler`), stopped when the server stops.

Under ``benben serve --workers N`` each worker process runs its own worker thread (a task a
request enqueued runs in the process that served the request: the memory transport is one
process's), while the periodic schedule runs in one process only, the one holding the
scheduler lock; if it dies, another takes over.  A restart loses the queued messages, never
work: what matters is driven from durable state, and the sweeps find it again.

The PasteDeploy factory (``benben.main``: ``pserve``, ``gunicorn --paste`` without
``--preload``) starts it too; ``benben shell``, commands and tests never do.

Tests run the queue deterministically instead, in their own thread: :func:`run_queued_tasks`,
and :func:`run_periodic_tasks` for what the scheduler would send.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery.bootsteps import CLOSE, RUN
from celery.worker import WorkController
from pyramid.registry import Registry

from benben.worker.app import WAKE_TASK
from benben.worker.tasks import get_celery

__all__ = [
    "EmbeddedWorker",
    "run_periodic_tasks",
    "run_queued_tasks",
    "serve_tasks",
    "start_embedded",
    "stop_embedded",
]

log = logging.getLogger(__name__)

_EMBEDDED_KEY = "benben.worker.embedded_worker"
_LOOP_LIMIT = 10_000  # run_queued_tasks: a task that enqueues itself forever is a bug


def run_queued_tasks(registry: Registry, *, limit: int = _LOOP_LIMIT) -> int:
    """Run the tasks waiting in this app's queues, in this thread, until none is left (tasks
    they enqueue included); the number run.  A task that raises propagates.  For tests (and
    plugin authors' tests) of an embedded app, where no worker thread runs."""
    app = get_celery(registry)
    ran = 0
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        while True:
            message = None
            for queue in app.conf.task_queues:
                queue(channel).declare()
                message = channel.basic_get(queue.name, no_ack=True)
                if message is not None:
                    break
            if message is None:
                return ran
            if ran >= limit:
                raise RuntimeError(f"run_queued_tasks: more than {limit} tasks, a loop?")
            headers = message.headers
            args, kwargs, _embed = message.decode()
            task = app.tasks[headers["task"]]
            task.apply(args=args, kwargs=kwargs, task_id=headers.get("id"), throw=True)
            ran += 1


def run_periodic_tasks(registry: Registry, *names: str) -> int:
    """Send the periodic tasks ``names`` (default: every one scheduled) as the scheduler would,
    then :func:`run_queued_tasks`; the number of tasks run.  For tests."""
    app = get_celery(registry)
    schedule = app.conf.beat_schedule
    for name in names or tuple(schedule):
        entry = schedule[name]
        app.tasks[entry["task"]].apply_async(entry.get("args", ()), entry.get("kwargs", {}))
    return run_queued_tasks(registry)


class _Controller(WorkController):
    """Celery's worker, telling when its consumer is up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.started = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer: Any) -> None:
        self.started.set()


class EmbeddedWorker:
    """A worker thread on the app's in-process queues and, under the scheduler lock, the
    periodic schedule."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.app = get_celery(registry)
        self.controller: _Controller | None = None
        self.thread: threading.Thread | None = None
        self.scheduler: Any = None

    def start(self, *, schedule: bool = True, timeout: float = 10.0) -> None:
        from benben.worker.scheduler import SchedulerRunner

        self.controller = _Controller(
            app=self.app,
            hostname=f"embedded-{id(self):x}@benben",
            pool_cls="solo",
            concurrency=1,
            queues=[queue.name for queue in self.app.conf.task_queues],
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            loglevel=logging.WARNING,
        )
        self.thread = threading.Thread(target=self._run, name="benben-embedded-worker", daemon=True)
        self.thread.start()
        if not self.controller.started.wait(timeout):
            log.warning("the embedded worker did not start within %s s", timeout)
        if schedule:
            self.scheduler = SchedulerRunner(self.registry, embedded=True)
            self.scheduler.start()
        log.info("embedded worker started (tasks run in this process)")

    def _run(self) -> None:
        # The solo pool runs tasks in this thread, looking them up in the thread's current app
        # (thread-local: other apps of the process keep theirs).
        self.app.set_current()
        controller = self.controller
        assert controller is not None
        try:
            controller.start()  # returns once stop() closed the consumer's loop
        finally:
            # Stopped here, in the thread that owns the broker connection: closing its channels
            # from another thread would race this one's reads (py-amqp is not thread-safe).
            consumer = getattr(controller, "consumer", None)
            if consumer is not None and consumer.blueprint.state == CLOSE:
                consumer.blueprint.state = RUN
            controller.stop(in_sighandler=False)

    def stop(self, timeout: float = 5.0) -> None:
        if self.scheduler is not None:
            self.scheduler.stop(timeout)
        if self.controller is not None and not self.controller.started.is_set():
            # Stopped while still starting (a busy machine, a quick SIGTERM): its consumer is
            # not there to close yet, and the thread would run on until the join gave up.
            self.controller.started.wait(timeout)
        consumer = getattr(self.controller, "consumer", None)
        if consumer is not None and consumer.blueprint.state == RUN:
            # The consumer's loop checks this at each turn and returns: a turn ends within 2 s
            # (memory://), or when the event loop of a real broker is woken (thread-safe).
            consumer.blueprint.state = CLOSE
            hub = getattr(self.controller, "hub", None)
            if hub is not None:
                hub.call_soon(_nothing)
            else:  # memory:// waits 2 s for a message: one that does nothing ends the wait
                self.app.tasks[WAKE_TASK].apply_async()
        if self.thread is not None:
            self.thread.join(timeout)
            if self.thread.is_alive():
                log.warning("the embedded worker did not stop within %s s", timeout)


def _nothing() -> None:
    """Called in the worker's event loop: waking it is the point."""


def start_embedded(registry: Registry) -> EmbeddedWorker | None:
    """Start the embedded worker of a serving app when ``benben.worker.embedded`` is on; None
    when it is off (a separate ``benben worker`` consumes the broker)."""
    from benben.worker.app import is_embedded

    if not is_embedded(registry.settings) or registry.get(_EMBEDDED_KEY) is not None:
        return registry.get(_EMBEDDED_KEY)
    worker = registry[_EMBEDDED_KEY] = EmbeddedWorker(registry)
    worker.start()
    return worker


def serve_tasks(app: Any) -> Any:
    """The serving app factory's hook (``benben.main``, which ``benben serve`` loads, once per
    Gunicorn worker after the fork), given the WSGI app it returns: on the embedded default,
    this process runs the tasks (and, holding the scheduler lock, the schedule) itself; with a
    broker, nothing.  ``benben serve`` stops it at shutdown."""
    registry = getattr(app, "registry", None)
    if registry is not None:
        start_embedded(registry)
    return app


def stop_embedded(registry: Registry | None) -> None:
    """Stop the embedded worker, if one runs (at the server's shutdown)."""
    if registry is None:
        return
    worker = registry.pop(_EMBEDDED_KEY, None)
    if worker is not None:
        worker.stop()
