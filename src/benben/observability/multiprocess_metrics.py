"""Prometheus metrics under several worker processes: prometheus_client's multiprocess mode.

``benben serve --workers N`` (N > 1) sets ``PROMETHEUS_MULTIPROC_DIR`` in Gunicorn's master
(:mod:`benben.observability.metrics_directory`); each worker then keeps its values in files
there, and ``GET /metrics``, whichever worker answers it, renders them all through
``prometheus_client.multiprocess.MultiProcessCollector``.  What an operator sees, per metric:

- ``benben_http_requests_total``, ``benben_http_request_duration_seconds``,
  ``benben_ratelimit_rejections_total``, ``benben_login_failures_total``: counted where they
  happen, summed over every worker the instance has run, live or gone (a replaced worker's
  counts stay, so counters never go back).
- ``benben_http_requests_in_flight`` and ``benben_db_pool_connections``: summed over the live
  workers (``livesum``: a worker that leaves stops counting).  The pool's counts are each
  process's own state, read from its pool: every worker copies them into its files once a
  second, and the worker that answers a scrape just before it.
- ``benben_cache_operations_total`` and ``benben_near_cache_reads_total``: counted by the cache
  and the in-process caches in plain numbers of each process; copied as increments, on the
  same schedule, into counters summed over all workers.  Another worker's last second may not
  be in a scrape yet; it is in the next.
- ``benben_build_info``, ``benben_plugin_info`` and ``python_info``: the same in every worker,
  reported by the one that answers.
- ``process_*`` and ``python_gc_*`` are not exported: they would describe whichever process
  took the scrape (prometheus_client's multiprocess mode leaves them out too).

A plugin's ``Counter``, ``Gauge`` (with its ``multiprocess_mode``) and ``Histogram`` created on
``get_metrics(registry).registry`` are aggregated the same way; a custom collector is not
exported under several workers (it could only speak for one process).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, PlatformCollector
from prometheus_client import values as prometheus_values
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from pyramid.exceptions import ConfigurationError
from pyramid.registry import Registry
from pyramid.request import Request

from benben.cache import cache_stats
from benben.db import get_engine
from benben.observability.metrics import (
    CACHE_RESULTS,
    CACHE_STATS_FIELDS,
    DURATION_BUCKETS,
    HELP,
    KNOWN_METHODS,
    POOL_STATES,
    HitCounting,
    NullMetrics,
    RouteLabels,
    info_families,
    pool_readings,
)

__all__ = ["REFRESH_INTERVAL", "MultiProcessMetrics"]

log = logging.getLogger(__name__)

REFRESH_INTERVAL = 1.0  # seconds between a worker's copies of what it reads at scrape time


class MultiProcessMetrics(NullMetrics):
    """The :class:`~benben.observability.metrics.Metrics` interface on prometheus_client's
    multiprocess values; one per app, in each worker.  ``registry`` holds the metrics (a plugin
    adds its own there) and is never rendered itself; ``exported`` renders every worker's."""

    enabled = True

    def __init__(
        self,
        app_registry: Registry,
        directory: str,
        buckets: Iterable[float] = DURATION_BUCKETS,
        refresh_interval: float = REFRESH_INTERVAL,
    ) -> None:
        if prometheus_values.ValueClass is prometheus_values.MutexValue:
            # prometheus_client chose its storage when first imported, before the directory
            # was named: every worker would count alone, silently.
            raise ConfigurationError(
                "PROMETHEUS_MULTIPROC_DIR was set after prometheus_client was imported: set it "
                "before the process starts (benben serve --workers does)"
            )
        self.app_registry = app_registry
        self.refresh_interval = refresh_interval
        self.route_of = RouteLabels()
        registry = self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "benben_http_requests", HELP["benben_http_requests"],
            ("route", "method", "status"), registry=registry,
        )  # fmt: skip
        self._durations = Histogram(
            "benben_http_request_duration_seconds", HELP["benben_http_request_duration_seconds"],
            ("route", "method"), buckets=tuple(sorted(buckets)), registry=registry,
        )  # fmt: skip
        self._in_flight = Gauge(
            "benben_http_requests_in_flight", HELP["benben_http_requests_in_flight"],
            multiprocess_mode="livesum", registry=registry,
        )  # fmt: skip
        self._ratelimit = Counter(
            "benben_ratelimit_rejections", HELP["benben_ratelimit_rejections"], ("group",),
            registry=registry,
        )  # fmt: skip
        self._logins = Counter(
            "benben_login_failures", HELP["benben_login_failures"], ("reason",),
            registry=registry,
        )  # fmt: skip
        self._cache = Counter(
            "benben_cache_operations", HELP["benben_cache_operations"], ("result",),
            registry=registry,
        )  # fmt: skip
        self._near = Counter(
            "benben_near_cache_reads", HELP["benben_near_cache_reads"], ("cache", "result"),
            registry=registry,
        )  # fmt: skip
        self._pool = Gauge(
            "benben_db_pool_connections", HELP["benben_db_pool_connections"], ("state",),
            multiprocess_mode="livesum", registry=registry,
        )  # fmt: skip
        # The children per label values, so that a request takes no labels() lock.
        self._request_children: dict[tuple[str, str, str], Any] = {}
        self._duration_children: dict[tuple[str, str], Any] = {}
        self._process_caches: dict[str, HitCounting] = {}
        self._copied: dict[tuple[Any, ...], int] = {}  # what refresh() counted so far
        self._refresh_lock = threading.Lock()
        self._stopped = threading.Event()
        self._refresher_pid = 0  # the process whose refresher thread runs (none yet)
        self._start_lock = threading.Lock()
        self.exported = CollectorRegistry(auto_describe=False)
        self.exported.register(_WorkersCollector(self, directory))
        PlatformCollector(registry=self.exported)

    # -- the interface ------------------------------------------------------------------------
    def watch_process_cache(self, name: str, cache: HitCounting) -> None:
        self._process_caches[name] = cache

    def login_failure(self, reason: str) -> None:
        self._logins.labels(reason).inc()

    def ratelimit_rejected(self, group: str) -> None:
        self._ratelimit.labels(group).inc()

    def cache(self, result: str) -> None:
        if result not in CACHE_RESULTS:
            raise ValueError(f"cache result must be one of {CACHE_RESULTS}, not {result!r}")
        self._cache.labels(result).inc()

    def request_started(self) -> None:
        if self._refresher_pid != os.getpid():
            self._start_refresher()
        self._in_flight.inc()

    def request_finished(self, request: Request, status: int, seconds: float) -> None:
        route = self.route_of(request)
        method = request.method
        if method not in KNOWN_METHODS:
            method = "other"
        counted = (route, method, str(status))
        requests = self._request_children.get(counted)
        if requests is None:
            requests = self._request_children[counted] = self._requests.labels(*counted)
        timed = (route, method)
        durations = self._duration_children.get(timed)
        if durations is None:
            durations = self._duration_children[timed] = self._durations.labels(*timed)
        requests.inc()
        durations.observe(seconds)
        self._in_flight.dec()

    def close(self) -> None:
        self._stopped.set()
        self.refresh()

    # -- what only this process can read ------------------------------------------------------
    def refresh(self) -> None:
        """Copy what this process counts elsewhere (the cache's and the in-process caches'
        plain counters, the pool's state) into its multiprocess values."""
        with self._refresh_lock:
            stats = cache_stats(self.app_registry).as_dict()
            for result in CACHE_RESULTS:
                self._copy(self._cache, (result,), stats.get(CACHE_STATS_FIELDS[result], 0))
            for name, watched in list(self._process_caches.items()):
                self._copy(self._near, (name, "hit"), watched.hits)
                self._copy(self._near, (name, "miss"), watched.misses)
            readings = pool_readings(get_engine(self.app_registry))
            for state in POOL_STATES:
                if state in readings:
                    self._pool.labels(state).set(readings[state])

    def _copy(self, counter: Counter, labels: tuple[str, ...], total: int) -> None:
        """Add to ``counter`` what ``total`` grew by since the last copy."""
        key = (id(counter), *labels)
        added = total - self._copied.get(key, 0)
        if added > 0:
            counter.labels(*labels).inc(added)
            self._copied[key] = total

    def _start_refresher(self) -> None:
        """A thread per process that refreshes once a second, started by the first request (in
        the worker, never in a master that only built the app to check it)."""
        with self._start_lock:
            if self._refresher_pid == os.getpid():
                return
            self._refresher_pid = os.getpid()
            threading.Thread(target=self._refresh_often, name="benben-metrics", daemon=True).start()

    def _refresh_often(self) -> None:
        while not self._stopped.wait(self.refresh_interval):
            try:
                self.refresh()
            except Exception:  # a metric must never end the thread that keeps the others fresh
                log.exception("metrics refresh failed")


class _WorkersCollector:
    """Every worker's values from the shared directory, this one's refreshed first; and what
    every worker would report alike."""

    def __init__(self, metrics: MultiProcessMetrics, directory: str) -> None:
        self.metrics = metrics
        self.files = MultiProcessCollector(None, directory)

    def collect(self) -> Iterator[Metric]:
        self.metrics.refresh()
        yield from self.files.collect()
        yield from info_families(self.metrics.app_registry)
