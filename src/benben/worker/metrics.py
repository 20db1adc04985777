"""The worker's Prometheus metrics, in the app's registry (what ``/metrics`` serves, in a web
process and on a worker's health port alike):

- ``benben_task_duration_seconds{task}``: each run's time, histogram;
- ``benben_task_failures_total{task}``: runs that raised;
- ``benben_task_enqueue_failures_total{task}``: sends after a commit that the broker refused
  (the periodic sweeps catch up: what matters is in durable state);
- ``benben_task_queue_depth{queue}`` and ``benben_feed_consumer_lag{consumer}``: read at scrape
  time (:mod:`benben.worker.health` registers them on a worker).

With ``benben.metrics.enabled = off`` the metrics exist unregistered: counting them is free.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["TASK_BUCKETS", "WorkerMetrics", "worker_metrics"]

_KEY = "benben.worker.metrics"
_LOCK = threading.Lock()  # guards the lazy creation only (one per registry)
# Seconds: a sweep over an empty table takes milliseconds, a webhook up to its timeout.
TASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class WorkerMetrics:
    def __init__(self, registry: Any) -> None:
        # Imported here: benben.plugin imports this module, and prometheus_client must not be
        # imported before benben serve --workers names its multiprocess directory.
        from prometheus_client import Counter, Histogram

        from benben.observability.metrics import get_metrics

        target = get_metrics(registry).registry
        self.duration = Histogram(
            "benben_task_duration_seconds",
            "Time a task took to run, by task name.",
            ("task",),
            buckets=TASK_BUCKETS,
            registry=target,
        )
        self.failures = Counter(
            "benben_task_failures",
            "Task runs that raised, by task name.",
            ("task",),
            registry=target,
        )
        self.enqueue_failures = Counter(
            "benben_task_enqueue_failures",
            "Tasks a committed request could not send to the broker, by task name (the "
            "periodic sweeps catch up).",
            ("task",),
            registry=target,
        )

    def ran(self, task: str, seconds: float, failed: bool) -> None:
        self.duration.labels(task).observe(seconds)
        if failed:
            self.failures.labels(task).inc()

    def enqueue_failed(self, task: str) -> None:
        self.enqueue_failures.labels(task).inc()


def worker_metrics(registry: Any) -> WorkerMetrics:
    """The app's :class:`WorkerMetrics`, made on first use."""
    metrics = registry.get(_KEY)
    if metrics is None:
        with _LOCK:
            metrics = registry.get(_KEY)
            if metrics is None:
                metrics = registry[_KEY] = WorkerMetrics(registry)
    return metrics
