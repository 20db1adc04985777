"""Metrics in prometheus_client's multiprocess mode, in this process: workers simulated by
prometheus_client's own process identifier (one file per "pid"), the app's wiring when
``PROMETHEUS_MULTIPROC_DIR`` is set, and the refusal when the storage was chosen too early.
The real ``benben serve --workers 2`` is in test_observability_metrics_workers.py."""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from metrics_support import LOCAL, Scrape, scrape
from prometheus_client import values as prometheus_values
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import mark_process_dead
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request

from benben.db import get_engine
from benben.observability.metrics import Metrics, get_metrics
from benben.observability.metrics_directory import MULTIPROCESS_ENVIRON_KEY
from benben.observability.multiprocess_metrics import MultiProcessMetrics

REQUESTS = "benben_http_requests_total"
OPEN = {"benben.metrics.enabled": "open"}
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


@pytest.fixture
def directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shared = tmp_path / "metrics"
    shared.mkdir(mode=0o700)
    monkeypatch.setenv(MULTIPROCESS_ENVIRON_KEY, str(shared))
    return shared


@pytest.fixture
def as_worker(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """From now on, values are created in the files of worker ``pid``, as prometheus_client
    does in a process started with PROMETHEUS_MULTIPROC_DIR set."""

    def switch(pid: int) -> None:
        value_class = prometheus_values.MultiProcessValue(lambda: pid)
        monkeypatch.setattr(prometheus_values, "ValueClass", value_class)

    return switch


@pytest.fixture
def closing() -> Iterator[list[Any]]:
    """Metrics to close after the test (their refresher threads stop)."""
    opened: list[Any] = []
    yield opened
    for metrics in opened:
        metrics.close()


def rendered(metrics: MultiProcessMetrics) -> Scrape:
    return Scrape(generate_latest(metrics.exported).decode())


def a_request(path: str = "/nowhere") -> Request:
    return Request.blank(path)


def test_workers_counters_are_summed_and_a_gone_workers_counters_stay(
    app, directory, as_worker, closing
):
    workers = []
    for pid, count in ((1001, 2), (1002, 3)):
        # Each worker's values in its own files (one process identifier per process).
        as_worker(pid)
        metrics = MultiProcessMetrics(app.app.registry, str(directory), refresh_interval=3600)
        closing.append(metrics)
        workers.append(metrics)
        for _ in range(count):
            metrics.request_started()
            metrics.request_finished(a_request(), 200, 0.003)
        metrics.login_failure("bad_password")
    first, second = workers
    second.request_started()  # one still in flight in the second worker

    for metrics in (first, second):  # whichever worker answers the scrape
        scraped = rendered(metrics)
        assert scraped.value(REQUESTS, route="(none)", method="GET", status="200") == 5
        assert scraped.value("benben_http_request_duration_seconds_count") == 5
        assert scraped.value("benben_http_request_duration_seconds_bucket", le="0.005") == 5
        assert scraped.value("benben_http_request_duration_seconds_bucket", le="0.001") == 0
        assert scraped.value("benben_login_failures_total", reason="bad_password") == 2
        assert scraped.value("benben_http_requests_in_flight") == 1
        assert not scraped.samples("process_cpu_seconds_total")  # would describe one process
        assert scraped.samples("python_info")
    assert sorted(os.listdir(directory)) == [
        "counter_1001.db", "counter_1002.db", "gauge_livesum_1001.db", "gauge_livesum_1002.db",
        "histogram_1001.db", "histogram_1002.db",
    ]  # fmt: skip

    mark_process_dead(1002, str(directory))  # what Gunicorn's master does when it ends
    scraped = rendered(first)
    assert scraped.value(REQUESTS) == 5  # counted is counted
    assert scraped.value("benben_http_requests_in_flight") == 0  # a gone worker serves nothing


def test_counts_kept_elsewhere_are_copied_as_increments(app, directory, as_worker, closing):
    """The cache's and in-process caches' plain counters, and the pool, reach the files."""

    class Near:
        hits, misses = 0, 0

    as_worker(2001)
    metrics = MultiProcessMetrics(app.app.registry, str(directory), refresh_interval=3600)
    closing.append(metrics)
    near = Near()
    metrics.watch_process_cache("data", near)
    near.hits, near.misses = 3, 1
    metrics.cache("error")
    scraped = rendered(metrics)
    assert scraped.value("benben_near_cache_reads_total", cache="data", result="hit") == 3
    assert scraped.value("benben_near_cache_reads_total", cache="data", result="miss") == 1
    assert scraped.value("benben_cache_operations_total", result="error") == 1
    near.hits = 5
    again = rendered(metrics)  # copied once: the increment, not the total again
    assert again.value("benben_near_cache_reads_total", cache="data", result="hit") == 5
    assert again.value("benben_near_cache_reads_total", cache="data", result="miss") == 1

    engine = get_engine(app.app.registry)
    if engine.dialect.name == "postgresql":  # SQLite in memory keeps no pool counts
        with engine.connect():
            held = rendered(metrics)
        assert held.value("benben_db_pool_connections", state="checked_out") == 1
        assert rendered(metrics).value("benben_db_pool_connections", state="checked_out") == 0


def test_the_app_counts_in_the_shared_directory_when_it_is_set(
    make_app, directory, as_worker, closing
):
    as_worker(os.getpid())
    entry_point = importlib.metadata.EntryPoint(
        name="gauges", value="metrics_plugin", group="benben.plugins"
    )
    app = make_app(OPEN, entry_points=[entry_point])
    metrics = get_metrics(app.app.registry)
    closing.append(metrics)
    assert isinstance(metrics, MultiProcessMetrics)
    app.get("/api/v1/")
    app.get("/gauges/tick/1")

    scraped = scrape(app)
    assert scraped.value(REQUESTS, route="/api/v1/", method="GET", status="200") == 1
    assert scraped.value("gauges_ticks_total") == 1  # a plugin's counter, through the files
    assert len(scraped.samples("gauges_ticks_total")) == 1  # not also from its own registry
    assert scraped.value("benben_plugin_info", name="gauges") == 1
    assert (directory / f"counter_{os.getpid()}.db").exists()

    asked = app.get("/metrics", extra_environ=LOCAL, headers={"Accept": OPENMETRICS})
    assert asked.text.endswith("# EOF\n")
    families = {family.name: family for family in openmetrics_families(asked.text)}
    assert families["benben_http_requests"].type == "counter"
    assert families["benben_http_request_duration_seconds"].type == "histogram"
    assert families["benben_http_requests_in_flight"].type == "gauge"


def test_one_process_involves_no_directory(make_app, monkeypatch):
    monkeypatch.delenv(MULTIPROCESS_ENVIRON_KEY, raising=False)
    metrics = get_metrics(make_app(OPEN).app.registry)
    assert type(metrics) is Metrics
    assert metrics.exported is metrics.registry


def test_a_directory_named_after_prometheus_client_chose_its_storage_is_refused(
    make_app, directory
):
    # This process imported prometheus_client without the variable: its values are in memory.
    assert prometheus_values.ValueClass is prometheus_values.MutexValue
    with pytest.raises(ConfigurationError, match="PROMETHEUS_MULTIPROC_DIR was set after"):
        make_app(OPEN)
