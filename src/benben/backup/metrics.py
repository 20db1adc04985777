"""Scheduled backups' Prometheus metrics, in the app's registry (what ``/metrics`` serves, and a
worker's health port):

- ``benben_backup_runs_total{outcome}``: scheduled runs, ``success`` or ``failure``;
- ``benben_backup_last_success_timestamp_seconds``: when the last successful one ended (Unix
  time; 0 before the first); a run that finds a recent archive in the target (and skips) sets
  it to that archive's time, so that a restarted process knows it again at once;
- ``benben_backup_last_failure_timestamp_seconds``: when the last failed one ended (0: none);
- ``benben_backup_last_size_bytes``: the size of the last successful archive;
- ``benben_backup_duration_seconds``: how long the last successful one took;
- ``benben_backup_interval_seconds``: the interval configured (for the alert's "no success for
  two intervals").

Only the scheduled task counts: ``benben backup`` runs in a process of its own, gone before any
scrape.  The metrics exist only where scheduled backups are on (``benben.backup.interval_hours``
> 0), both outcomes at 0 from the start, so that an alert sees the first failure as an increase.
Under ``benben serve --workers N`` the values live in prometheus_client's multiprocess files:
whichever process holds the schedule runs the task, and every process's ``/metrics`` shows it.
"""

from __future__ import annotations

import threading
from typing import Any

from pyramid.registry import Registry

from benben.observability.metrics import get_metrics

__all__ = ["OUTCOMES", "BackupMetrics", "backup_metrics"]

_KEY = "benben.backup.metrics"
_LOCK = threading.Lock()  # guards the lazy creation only (one per registry)
OUTCOMES = ("success", "failure")


class BackupMetrics:
    def __init__(self, registry: Registry) -> None:
        # Imported here: prometheus_client must not be imported before `benben serve --workers`
        # names its multiprocess directory.
        from prometheus_client import Counter, Gauge

        target: Any = get_metrics(registry).registry
        self._lock = threading.Lock()
        self._last = 0.0  # the last success's time, as set on the gauge
        self._runs = Counter(
            "benben_backup_runs",
            "Scheduled backups run, by outcome (success, failure).",
            ("outcome",),
            registry=target,
        )
        for outcome in OUTCOMES:
            self._runs.labels(outcome)
        # "max" and "mostrecent": the process that ran the task wins over the others' zeros,
        # and a process that has stopped keeps what it reported.
        self._last_success = Gauge(
            "benben_backup_last_success_timestamp_seconds",
            "When the last successful scheduled backup ended (Unix time; 0: none yet).",
            multiprocess_mode="max",
            registry=target,
        )
        self._last_failure = Gauge(
            "benben_backup_last_failure_timestamp_seconds",
            "When the last failed scheduled backup ended (Unix time; 0: none).",
            multiprocess_mode="max",
            registry=target,
        )
        self._interval = Gauge(
            "benben_backup_interval_seconds",
            "Seconds between scheduled backups (benben.backup.interval_hours).",
            multiprocess_mode="max",
            registry=target,
        )
        self._size = Gauge(
            "benben_backup_last_size_bytes",
            "Size of the last successful scheduled backup's archive.",
            multiprocess_mode="mostrecent",
            registry=target,
        )
        self._duration = Gauge(
            "benben_backup_duration_seconds",
            "How long the last successful scheduled backup took.",
            multiprocess_mode="mostrecent",
            registry=target,
        )

    def configured(self, interval_seconds: float) -> None:
        self._interval.set(interval_seconds)

    def succeeded(self, *, finished_at: float, size: int, seconds: float) -> None:
        self._runs.labels("success").inc()
        self._size.set(size)
        self._duration.set(seconds)
        self.noted(finished_at)

    def noted(self, succeeded_at: float) -> None:
        """A success at ``succeeded_at`` (a run's, or a recent archive found in the target):
        the last success is at least that recent."""
        with self._lock:
            if succeeded_at > self._last:
                self._last = succeeded_at
                self._last_success.set(succeeded_at)

    def failed(self, finished_at: float) -> None:
        self._runs.labels("failure").inc()
        self._last_failure.set(finished_at)


def backup_metrics(registry: Registry) -> BackupMetrics:
    """The app's :class:`BackupMetrics`, made on first use."""
    metrics = registry.get(_KEY)
    if metrics is None:
        with _LOCK:
            metrics = registry.get(_KEY)
            if metrics is None:
                metrics = registry[_KEY] = BackupMetrics(registry)
    return metrics
