"""Prometheus metrics: one ``CollectorRegistry`` per app, kept on the Pyramid registry.

Where each metric comes from:

- ``benben_http_*`` (requests, latency, in flight): the observability tween calls
  :meth:`Metrics.request_started` / :meth:`Metrics.request_finished`.  Both take one lock and do a
  few dict operations (a few microseconds): the counts are plain numbers, turned into metric
  families only when ``/metrics`` is scraped.  (prometheus_client's own ``Counter``/``Histogram``
  would take five locks per request and add a ``*_created`` series to every counter.)
- ``benben_db_pool_connections``, ``benben_cache_operations_total``, ``benben_build_info`` and
  ``benben_plugin_info``: read at scrape time from the engine's pool, the cache's
  :class:`~benben.cache.CacheStats`, the version and the enabled plugins: free per request.
- ``benben_ratelimit_rejections_total`` and ``benben_login_failures_total``: counted where they
  happen, through the small interface other packages use without importing prometheus_client::

      from benben.observability.metrics import get_metrics
      get_metrics(request.registry).login_failure("bad_password")

With ``benben.metrics.enabled = off`` :func:`get_metrics` answers :data:`NULL_METRICS`, whose
methods do nothing.  Under several worker processes (``PROMETHEUS_MULTIPROC_DIR`` set by
``benben serve --workers N``) the app gets a
:class:`~benben.observability.multiprocess_metrics.MultiProcessMetrics` instead: the same
interface, the same metrics, summed over the workers.

A plugin may add its own metrics to ``get_metrics(registry).registry`` (a ``CollectorRegistry``,
or ``None`` when metrics are off: prometheus_client then keeps the metric unregistered, which is
the no-op wanted).
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString
from pyramid.registry import Registry
from pyramid.request import Request

from benben.cache import cache_stats
from benben.db import get_engine
from benben.plugins.installed import enabled_plugins
from benben.version import __version__

__all__ = [
    "DURATION_BUCKETS",
    "HELP",
    "METRICS_KEY",
    "METRICS_PATH",
    "NULL_METRICS",
    "ROUTE_ENVIRON_KEY",
    "UNMATCHED_ROUTE",
    "Metrics",
    "NullMetrics",
    "RouteLabels",
    "get_metrics",
    "info_families",
    "matched_route",
    "pool_readings",
    "route_label",
]

METRICS_KEY = "benben.metrics"
METRICS_PATH = "/metrics"
# The route a tween matched before the router ran (the rate limiter does), so that a request
# answered before routing (a 429) is still labelled with its route.
ROUTE_ENVIRON_KEY = "benben.route"
UNMATCHED_ROUTE = "(none)"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds. A cached read takes a millisecond or two, a write tens; past 10 s a request has failed
# whatever it answers.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CACHE_RESULTS = ("hit", "miss", "error")
CACHE_STATS_FIELDS = {"hit": "hits", "miss": "misses", "error": "errors"}  # CacheStats' field names
POOL_STATES = ("checked_out", "idle", "overflow")
# Each metric's help text, shared by the one-process and the several-process exports.
HELP = {
    "benben_http_requests": "HTTP requests answered, by route pattern, method and status.",
    "benben_http_request_duration_seconds": "Time from entering the app to the response, by "
    "route pattern and method.",
    "benben_http_requests_in_flight": "Requests being answered now.",
    "benben_ratelimit_rejections": "Requests refused with 429 by a rate limit, by route group.",
    "benben_login_failures": "Refused logins, by reason (bad_password, unknown_user, inactive, "
    "throttled).",
    "benben_cache_operations": "Cache reads by result; error: the backend failed (the read then "
    "also misses).",
    "benben_near_cache_reads": "Reads of the in-process caches (data: records, pages and "
    "collections; identity: verified tokens), by result.",
    "benben_db_pool_connections": "Database connections: checked_out (in use, overflow "
    "included), idle (pooled, unused), overflow (open beyond the pool size).",
    "benben_build_info": "Benben's version (the value is always 1).",
    "benben_plugin_info": "The enabled plugins and their versions (the value is always 1).",
}
# {name:regex} in a route pattern -> {name}: the label names the route, not its regex.
_PLACEHOLDER_REGEX = re.compile(r"\{(\w+):(?:[^{}]|\{[^{}]*\})*\}")


def route_label(pattern: str) -> str:
    # Routes added under a route prefix may lack the leading slash the router assumes.
    return "/" + _PLACEHOLDER_REGEX.sub(r"{\1}", pattern).lstrip("/")


def matched_route(request: Request) -> Any:
    """The route the router matched, or a tween before it; None when no route matches."""
    return request.__dict__.get("matched_route") or request.environ.get(ROUTE_ENVIRON_KEY)


class RouteLabels:
    """The ``route`` label of a request: its matched route's pattern, ``{name:regex}`` shown as
    ``{name}``, never the path; computed once per route."""

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}  # route name -> label

    def __call__(self, request: Request) -> str:
        route = matched_route(request)
        if route is None:
            return UNMATCHED_ROUTE
        label = self._labels.get(route.name)
        if label is None:
            label = self._labels[route.name] = route_label(route.pattern)
        return label


class HitCounting(Protocol):
    """An in-process cache that counts its reads (a :class:`~benben.cache.ProcessCache`)."""

    hits: int
    misses: int


class NullMetrics:
    """The interface, doing nothing: what :func:`get_metrics` answers when metrics are off."""

    enabled = False
    # Where plugins register their metrics; ``exported`` is what GET /metrics renders.
    registry: CollectorRegistry | None = None
    exported: CollectorRegistry | None = None

    def login_failure(self, reason: str) -> None:
        """A login refused: ``bad_password``, ``unknown_user``, ``inactive``, ``throttled``..."""

    def ratelimit_rejected(self, group: str) -> None:
        """A request refused with 429 by the limit of ``group``."""

    def cache(self, result: str) -> None:
        """A cache read outside core's region: ``hit``, ``miss`` or ``error``."""

    def watch_process_cache(self, name: str, cache: HitCounting) -> None:
        """Report ``cache.hits`` and ``cache.misses`` at each scrape, as
        ``benben_near_cache_reads{cache=name}`` (the in-process caches register themselves)."""

    def request_started(self) -> None:
        """A request entered the app (the in-flight gauge)."""

    def request_finished(self, request: Request, status: int, seconds: float) -> None:
        """A request left the app with ``status`` after ``seconds``."""

    def close(self) -> None:
        """The process is leaving: anything not yet shared with the other workers is."""


NULL_METRICS = NullMetrics()


def get_metrics(registry: Registry) -> NullMetrics:
    """The app's :class:`Metrics`, or :data:`NULL_METRICS` when metrics are off."""
    return registry.get(METRICS_KEY, NULL_METRICS)


class _Counts:
    """Counters by label values, under one lock (``+=`` on a dict item is not atomic)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[tuple[str, ...], float] = {}

    def add(self, key: tuple[str, ...], amount: float = 1) -> None:
        with self.lock:
            self.values[key] = self.values.get(key, 0) + amount

    def snapshot(self) -> dict[tuple[str, ...], float]:
        with self.lock:
            return dict(self.values)


class Metrics(NullMetrics):
    enabled = True

    def __init__(self, app_registry: Registry, buckets: Iterable[float] = DURATION_BUCKETS) -> None:
        self.app_registry = app_registry
        self.buckets = tuple(sorted(buckets))
        self._lock = threading.Lock()
        self._in_flight = 0
        self._requests: dict[tuple[str, str, str], int] = {}
        # (route, method) -> [count per bucket..., count beyond the last, sum of seconds]
        self._durations: dict[tuple[str, str], list[float]] = {}
        self.route_of = RouteLabels()
        self._ratelimit = _Counts()
        self._logins = _Counts()
        self._cache = _Counts()
        self._process_caches: dict[str, HitCounting] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        self.exported = self.registry
        self.registry.register(_AppCollector(self))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def watch_process_cache(self, name: str, cache: HitCounting) -> None:
        self._process_caches[name] = cache

    # -- the interface ------------------------------------------------------------------------
    def login_failure(self, reason: str) -> None:
        self._logins.add((reason,))

    def ratelimit_rejected(self, group: str) -> None:
        self._ratelimit.add((group,))

    def cache(self, result: str) -> None:
        if result not in CACHE_RESULTS:
            raise ValueError(f"cache result must be one of {CACHE_RESULTS}, not {result!r}")
        self._cache.add((result,))

    def request_started(self) -> None:
        with self._lock:
            self._in_flight += 1

    def request_finished(self, request: Request, status: int, seconds: float) -> None:
        route = self.route_of(request)
        method = request.method
        if method not in KNOWN_METHODS:
            method = "other"
        bucket = bisect.bisect_left(self.buckets, seconds)
        key = (route, method)
        with self._lock:
            self._in_flight -= 1
            counted = (route, method, str(status))
            self._requests[counted] = self._requests.get(counted, 0) + 1
            durations = self._durations.get(key)
            if durations is None:
                durations = self._durations[key] = [0] * (len(self.buckets) + 2)
            durations[bucket] += 1
            durations[-1] += seconds

    # -- scrape -------------------------------------------------------------------------------
    def http_families(self) -> Iterator[Metric]:
        with self._lock:
            in_flight = self._in_flight
            requests = dict(self._requests)
            durations = {key: list(values) for key, values in self._durations.items()}
        total = CounterMetricFamily(
            "benben_http_requests",
            HELP["benben_http_requests"],
            labels=("route", "method", "status"),
        )
        for labels, count in sorted(requests.items()):
            total.add_metric(labels, count)
        yield total
        histogram = HistogramMetricFamily(
            "benben_http_request_duration_seconds",
            HELP["benben_http_request_duration_seconds"],
            labels=("route", "method"),
        )
        bounds = [floatToGoString(bound) for bound in self.buckets] + ["+Inf"]
        for labels, values in sorted(durations.items()):
            cumulative, running = [], 0.0
            for bound, count in zip(bounds, values[:-1], strict=True):
                running += count
                cumulative.append((bound, running))
            histogram.add_metric(labels, cumulative, values[-1])
        yield histogram
        yield GaugeMetricFamily(
            "benben_http_requests_in_flight",
            HELP["benben_http_requests_in_flight"],
            value=in_flight,
        )

    def counter_families(self) -> Iterator[Metric]:
        rejections = CounterMetricFamily(
            "benben_ratelimit_rejections", HELP["benben_ratelimit_rejections"], labels=("group",)
        )
        for labels, count in sorted(self._ratelimit.snapshot().items()):
            rejections.add_metric(labels, count)
        yield rejections
        logins = CounterMetricFamily(
            "benben_login_failures", HELP["benben_login_failures"], labels=("reason",)
        )
        for labels, count in sorted(self._logins.snapshot().items()):
            logins.add_metric(labels, count)
        yield logins
        cache = CounterMetricFamily(
            "benben_cache_operations", HELP["benben_cache_operations"], labels=("result",)
        )
        core = cache_stats(self.app_registry).as_dict()
        extra = self._cache.snapshot()
        for result in CACHE_RESULTS:
            value = core.get(CACHE_STATS_FIELDS[result], 0) + extra.get((result,), 0)
            cache.add_metric((result,), value)
        yield cache
        near = CounterMetricFamily(
            "benben_near_cache_reads", HELP["benben_near_cache_reads"], labels=("cache", "result")
        )
        for name, watched in self._process_caches.items():
            near.add_metric((name, "hit"), watched.hits)
            near.add_metric((name, "miss"), watched.misses)
        yield near

    def state_families(self) -> Iterator[Metric]:
        pool = GaugeMetricFamily(
            "benben_db_pool_connections", HELP["benben_db_pool_connections"], labels=("state",)
        )
        for state, count in pool_readings(get_engine(self.app_registry)).items():
            pool.add_metric((state,), count)
        yield pool
        yield from info_families(self.app_registry)


def info_families(app_registry: Registry) -> Iterator[Metric]:
    """``benben_build_info`` and ``benben_plugin_info``: the same in every process."""
    build = GaugeMetricFamily("benben_build_info", HELP["benben_build_info"], labels=("version",))
    build.add_metric((__version__,), 1)
    yield build
    plugins = GaugeMetricFamily(
        "benben_plugin_info", HELP["benben_plugin_info"], labels=("name", "version")
    )
    for plugin in enabled_plugins(app_registry):
        plugins.add_metric((plugin.name, plugin.version), 1)
    yield plugins


def pool_readings(engine: Any) -> dict[str, int]:
    """Connections of the engine's pool by state; on a pool that keeps no count (SQLite in
    memory, NullPool), only what it knows."""
    pool = getattr(engine, "pool", None)
    readings = {
        "checked_out": getattr(pool, "checkedout", None),
        "idle": getattr(pool, "checkedin", None),
        "overflow": getattr(pool, "overflow", None),
    }
    # overflow() starts at -pool_size: it counts up as the pool fills.
    return {
        state: max(0, reading()) for state in POOL_STATES if callable(reading := readings[state])
    }


class _AppCollector:
    """Everything Benben exports, built from the app's state when ``/metrics`` is scraped."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics.http_families()
        yield from self.metrics.counter_families()
        yield from self.metrics.state_families()

    def describe(self) -> list[Metric]:
        # The names, for the registry's duplicate check, without reading the pool at start-up.
        return [
            CounterMetricFamily(name, "")
            for name in (
                "benben_http_requests", "benben_ratelimit_rejections", "benben_login_failures",
                "benben_cache_operations",
            )
        ] + [HistogramMetricFamily("benben_http_request_duration_seconds", "")] + [
            GaugeMetricFamily(name, "")
            for name in (
                "benben_http_requests_in_flight", "benben_db_pool_connections",
                "benben_build_info", "benben_plugin_info",
            )
        ]  # fmt: skip
