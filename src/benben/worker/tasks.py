"""The task API of core and plugins (exported by :mod:`benben.plugin`).

Declare, in ``includeme``::

    def deliver(ctx: TaskContext, subscription_id: str) -> None:
        with ctx.transaction() as request:          # claim: committed on exit
            batch = claim_due(request.dbsession, subscription_id)
        results = [send(item) for item in batch]    # outside any transaction
        with ctx.transaction() as request:          # record
            record(request.dbsession, results)

    config.add_task("myplugin.deliver", deliver, queue="myplugin")
    config.add_task("myplugin.sweep", sweep)
    config.add_periodic_task("myplugin.sweep", 60)

and enqueue from a view: ``enqueue_task(request, "myplugin.deliver", subscription_id)`` sends the
task once the request's transaction commits (nothing if it aborts); from a task or a command,
``enqueue_task(ctx.registry, ...)`` sends it at once.

Delivery is at least once: a task may run twice (a worker killed mid-run, a broker redelivery)
and several workers run tasks at the same time, so a task must be idempotent, and work that
must happen must be recorded in the database first (the feed, an outbox row) with a periodic
sweep that finds what was never sent or never finished.  A broker outage then delays work; it
never loses it.  Arguments and keyword arguments travel as JSON.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from celery import Celery
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.interfaces import IRequestFactory
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.scripting import prepare

from benben.worker.app import CELERY_KEY, route_task
from benben.worker.metrics import worker_metrics

__all__ = [
    "TaskContext",
    "TaskFunction",
    "TaskSpec",
    "add_periodic_task",
    "add_task",
    "enqueue_task",
    "get_celery",
    "registered_tasks",
]

log = logging.getLogger(__name__)

TaskFunction = Callable[..., Any]
"""``func(ctx: TaskContext, *args, **kwargs)``: what ``config.add_task`` registers."""

_TASKS_KEY = "benben.worker.tasks"
_PENDING = object()  # the key of a transaction's data: the tasks to send once it commits
# A request's publish after its commit: one quick retry, then logged (the sweeps catch up);
# the client is not kept waiting on a broker that is down.
_REQUEST_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.1, "interval_max": 0.1}


def get_celery(registry: Registry) -> Celery:
    """The Celery app of this Benben app (one per registry, configured from its settings)."""
    try:
        return registry[CELERY_KEY]
    except KeyError:
        raise LookupError(
            "this registry has no Celery app: benben.worker is not included"
        ) from None


@dataclass(frozen=True)
class TaskSpec:
    """A task as declared: its name, function and logical queue (None: ``benben``)."""

    name: str
    func: TaskFunction
    queue: str | None


def registered_tasks(registry: Registry) -> Mapping[str, TaskSpec]:
    """The tasks declared with ``config.add_task``, by name."""
    return registry.get(_TASKS_KEY) or {}


@dataclass
class TaskContext:
    """What a running task is given as its first argument.

    - ``registry``: the app's Pyramid registry (``ctx.registry.settings``, services...);
    - ``settings``: the app's resolved settings (``benben.*`` names);
    - ``name``: the task's name; ``task``: the running Celery task (``raise
      ctx.task.retry(countdown=30)`` to try again later; its ``request.id``, ``request.retries``);
    - :meth:`transaction`: a database transaction with a scripted request.
    """

    registry: Registry
    name: str
    task: Any = field(default=None, repr=False)

    @property
    def settings(self) -> Mapping[str, Any]:
        return self.registry.settings

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Request]:
        """A scripted Pyramid request whose ``dbsession`` is joined to a new transaction:
        committed when the block ends, aborted when it raises (the exception propagates).

        A task may open several in turn: claim work in one, call the outside world with no
        transaction open (no lock or connection held while waiting), record the outcome in
        another.  ``readonly``: the transaction only reads (on SQLite, it then does not take
        the write lock at its start).  Events published here (``publish_event(request, ...)``)
        and tasks enqueued here (``enqueue_task(request, ...)``) follow the commit, as in a
        request.
        """
        factory = self.registry.queryUtility(IRequestFactory, default=Request)
        # A write method: on SQLite the session then begins as a writer (BEGIN IMMEDIATE), so
        # two tasks never both read, then both fail to upgrade to writing.
        scripted = factory.blank("/", method="GET" if readonly else "POST")
        environment = prepare(request=scripted, registry=self.registry)
        request = environment["request"]
        request.tm.begin()
        try:
            yield request
        except BaseException:
            request.tm.abort()
            raise
        else:
            request.tm.commit()
        finally:
            environment["closer"]()


# -- declaring --------------------------------------------------------------------------------


def add_task(
    config: Configurator, name: str, func: TaskFunction, *, queue: str | None = None
) -> None:
    """The ``config.add_task(name, func, queue=None)`` directive: declare task ``name``.

    A worker runs it as ``func(ctx, *args, **kwargs)`` with a :class:`TaskContext`.  ``name``
    is global to the deployment: prefix it with the plugin's name (``webhooks.deliver``).
    ``queue``: the queue it is sent to (default ``benben``), so that operators can give a kind
    of work workers of its own (``benben worker --queues webhooks``); a worker given no queues
    consumes all of them.  Two registrations of one name conflict.
    """
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise ConfigurationError(f"add_task: invalid task name {name!r}")
    if not callable(func):
        raise ConfigurationError(f"add_task {name}: {func!r} is not callable")
    if queue is not None and (not isinstance(queue, str) or not queue.strip()):
        raise ConfigurationError(f"add_task {name}: invalid queue {queue!r}")
    registry = config.registry

    def register() -> None:
        tasks = registry.setdefault(_TASKS_KEY, {})
        tasks[name] = TaskSpec(name, func, queue)
        _bind(registry, tasks[name])

    intr = config.introspectable("benben tasks", name, name, "benben task")
    intr.update(name=name, queue=queue or "benben", callable=func)
    config.action(("benben.worker.task", name), register, order=1, introspectables=(intr,))


def add_periodic_task(
    config: Configurator,
    name: str,
    seconds: float,
    *,
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
) -> None:
    """The ``config.add_periodic_task(name, seconds)`` directive: the scheduler sends task
    ``name`` (declared with ``add_task``, by this plugin or another) every ``seconds``; 0 or
    less: never (an interval read from a setting may turn it off).

    Exactly one scheduler runs in a deployment (``benben scheduler``, ``benben worker --beat``
    or, on the embedded default, one ``benben serve`` process).  A tick missed while none runs
    is not made up for: a periodic task is a sweep that does whatever is due when it runs.
    """
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        raise ConfigurationError(f"add_periodic_task {name}: seconds must be a number")
    registry = config.registry

    def register() -> None:
        if name not in registered_tasks(registry):
            raise ConfigurationError(
                f"add_periodic_task: no task {name!r} (declare it with config.add_task)"
            )
        if seconds <= 0:
            return
        app = get_celery(registry)
        app.conf.beat_schedule = {
            **app.conf.beat_schedule,
            name: {
                "task": name,
                "schedule": float(seconds),
                "args": tuple(args),
                "kwargs": dict(kwargs or {}),
            },
        }

    # After every add_task (order=1) of every plugin: a plugin may schedule another's task.
    intr = config.introspectable("benben periodic tasks", name, name, "benben periodic task")
    intr.update(task=name, seconds=seconds)
    config.action(("benben.worker.periodic", name), register, order=2, introspectables=(intr,))


def _bind(registry: Registry, spec: TaskSpec) -> None:
    app = get_celery(registry)
    route_task(app, spec.name, spec.queue)
    func = spec.func
    metrics = worker_metrics(registry)

    def run(task: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        failed = True
        try:
            result = func(TaskContext(registry, spec.name, task), *args, **kwargs)
            failed = False
            return result
        finally:
            metrics.ran(spec.name, time.perf_counter() - started, failed)

    # Celery compiles a signature from __name__ (an identifier); the name it routes by is name=.
    run.__name__ = run.__qualname__ = "run_" + "".join(c if c.isalnum() else "_" for c in spec.name)
    run.__module__ = getattr(func, "__module__", __name__)
    run.__doc__ = func.__doc__
    app.task(name=spec.name, bind=True, shared=False, typing=False)(run)


# -- enqueueing -------------------------------------------------------------------------------


def enqueue_task(
    request_or_registry: Request | Registry, name: str, *args: Any, **kwargs: Any
) -> None:
    """Send task ``name`` with JSON-serializable ``args`` and ``kwargs``.

    Given a request: sent once the request's transaction commits, in the order enqueued, and
    not at all when it aborts; a broker that cannot take it then is logged and counted
    (``benben_task_enqueue_failures_total``), never raised: the request has committed, and the
    periodic sweeps find the work in the database.  Given a registry (in a task, a command):
    sent now; a broker failure raises (kombu's ``OperationalError``).  An undeclared ``name``
    raises ``LookupError`` at once, either way.
    """
    if isinstance(request_or_registry, Registry):
        _task(request_or_registry, name).apply_async(args, kwargs)
        return
    request = request_or_registry
    task = _task(request.registry, name)
    try:
        current = request.tm.get()
    except Exception:  # no transaction open: nothing to wait for
        _send_quietly(request.registry, task, args, kwargs)
        return
    try:
        pending: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = current.data(_PENDING)
    except KeyError:
        pending = []
        current.set_data(_PENDING, pending)
        registry = request.registry

        def send(committed: bool) -> None:
            if committed:
                for queued, queued_args, queued_kwargs in pending:
                    _send_quietly(registry, queued, queued_args, queued_kwargs)

        current.addAfterCommitHook(send)
    pending.append((task, args, kwargs))


def _task(registry: Registry, name: str) -> Any:
    try:
        return get_celery(registry).tasks[name]
    except KeyError:
        raise LookupError(f"no task {name!r} (declare it with config.add_task)") from None


def _send_quietly(
    registry: Registry, task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    try:
        task.apply_async(args, kwargs, retry=True, retry_policy=_REQUEST_RETRY_POLICY)
    except Exception as exc:
        worker_metrics(registry).enqueue_failed(task.name)
        log.warning(
            "task %s not sent (%s: %s); the periodic sweeps will catch up",
            task.name,
            type(exc).__name__,
            exc,
        )
