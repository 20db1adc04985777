"""Background work on Celery: the task API, the worker, the one scheduler, the embedded default.

- :mod:`.app`: the Celery app of a Benben app, from ``benben.worker.*`` (one per registry:
  :func:`get_celery`), configured so that no task is lost (acks late, prefetch 1...).
- :mod:`.tasks`: ``config.add_task``, ``config.add_periodic_task``, :func:`enqueue_task`
  (after the request's commit), :class:`TaskContext` (``ctx.transaction()``).
- :mod:`.builtin`: core's periodic sweeps (feed retention, data purge, expired tokens).
- :mod:`.embedded`: the embedded default: a worker thread on an in-process queue, and the
  schedule, inside ``benben serve``; :func:`~benben.worker.embedded.run_queued_tasks` for tests.
- :mod:`.scheduler`: the scheduler lock (one scheduler per deployment, standbys take over).
- :mod:`.health`: a worker's ``/health/live``, ``/health/ready`` and ``/metrics``.

``benben worker`` and ``benben scheduler`` (:mod:`benben.cli.worker`) run them as processes.
"""

from __future__ import annotations

from pyramid.config import Configurator

from benben.worker.app import CELERY_KEY, build_celery, is_embedded
from benben.worker.tasks import (
    TaskContext,
    add_periodic_task,
    add_task,
    enqueue_task,
    get_celery,
    registered_tasks,
)

__all__ = [
    "TaskContext",
    "add_periodic_task",
    "add_task",
    "enqueue_task",
    "get_celery",
    "includeme",
    "is_embedded",
    "registered_tasks",
]


def includeme(config: Configurator) -> None:
    config.registry[CELERY_KEY] = build_celery(config.get_settings())
    config.add_directive("add_task", add_task)
    config.add_directive("add_periodic_task", add_periodic_task)
    config.include("benben.worker.builtin")
