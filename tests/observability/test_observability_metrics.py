"""``GET /metrics`` through the real app: requests by route pattern, the exposition formats, the
database pool, build and plugin info, and one registry per app."""

from __future__ import annotations

import importlib.metadata
import uuid

import prometheus_client
import pytest
import webtest
from metrics_support import LOCAL, TEXT_FORMAT, Scrape, scrape
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)

from benben.db import get_engine
from benben.errors import PROBLEM_JSON
from benben.observability.metrics import DURATION_BUCKETS, NULL_METRICS, get_metrics
from benben.version import __version__

USER_ROUTE = "/api/v1/users/{id}"
REQUESTS = "benben_http_requests_total"


def test_requests_are_counted_under_their_route_pattern(app, create_user, auth_headers):
    user_id = create_user("admin", is_admin=True)
    headers = auth_headers(app, "admin")
    missing = str(uuid.uuid4())
    app.get(f"/api/v1/users/{user_id}", headers=headers, status=200)
    app.get(f"/api/v1/users/{user_id}", headers=headers, status=200)
    app.get(f"/api/v1/users/{missing}", headers=headers, status=404)

    metrics = scrape(app)
    assert metrics.value(REQUESTS, route=USER_ROUTE, method="GET", status="200") == 2
    assert metrics.value(REQUESTS, route=USER_ROUTE, method="GET", status="404") == 1
    assert metrics.value(REQUESTS, route="/api/v1/auth/login", method="POST", status="200") == 1
    assert user_id not in metrics.text
    assert missing not in metrics.text

    duration = "benben_http_request_duration_seconds"
    assert metrics.value(f"{duration}_count", route=USER_ROUTE, method="GET") == 3
    assert metrics.value(f"{duration}_sum", route=USER_ROUTE, method="GET") > 0
    buckets = metrics.samples(f"{duration}_bucket", route=USER_ROUTE, method="GET")
    bounds = [sample.labels["le"] for sample in buckets]
    assert bounds == [prometheus_client.utils.floatToGoString(b) for b in DURATION_BUCKETS] + [
        "+Inf"
    ]
    counts = [sample.value for sample in buckets]
    assert counts == sorted(counts)  # cumulative
    assert counts[-1] == 3  # +Inf holds them all


def test_unmatched_paths_are_counted_without_the_path(app):
    secret_path = f"/no-such-thing-{uuid.uuid4().hex}"
    response = app.get(secret_path, status=404)
    assert response.content_type == PROBLEM_JSON

    metrics = scrape(app)
    assert metrics.value(REQUESTS, route="(none)", method="GET", status="404") == 1
    assert secret_path not in metrics.text


def test_unknown_methods_are_labelled_other(app):
    # webtest's WSGI lint refuses methods it does not know; the app must not.
    webtest.TestApp(app.app, lint=False).request("/api/v1/", method="PROPFIND", expect_errors=True)
    app.request("/api/v1/", method="DELETE", expect_errors=True)

    metrics = scrape(app)
    assert metrics.value(REQUESTS, route="/api/v1/", method="other") == 1
    assert metrics.value(REQUESTS, route="/api/v1/", method="DELETE") == 1
    assert "PROPFIND" not in metrics.text


def test_scrapes_are_neither_counted_nor_rate_limited(make_app):
    app = make_app({"benben.ratelimit.default": "2/minute"})
    for _ in range(5):
        metrics = scrape(app)
    assert not metrics.samples(REQUESTS, route="/metrics")
    assert metrics.value("benben_http_requests_in_flight") == 0
    assert "RateLimit-Limit" not in app.get("/metrics", extra_environ=LOCAL).headers


def test_in_flight_counts_requests_being_answered(make_app):
    seen = []

    def include(config):
        def peek(request):
            seen.append(get_metrics(request.registry).registry.get_sample_value(
                "benben_http_requests_in_flight"
            ))  # fmt: skip
            return {}

        config.add_route("test.peek", "/test/peek")
        config.add_view(peek, route_name="test.peek", renderer="json")

    app = make_app(include=include)
    app.get("/test/peek")
    assert seen == [1]
    assert scrape(app).value("benben_http_requests_in_flight") == 0


def test_every_metric_is_exported_with_its_type(app):
    app.get("/api/v1/")
    families = scrape(app).families
    expected = {
        "benben_http_requests": "counter",
        "benben_http_request_duration_seconds": "histogram",
        "benben_http_requests_in_flight": "gauge",
        "benben_db_pool_connections": "gauge",
        "benben_cache_operations": "counter",
        "benben_ratelimit_rejections": "counter",
        "benben_login_failures": "counter",
        "benben_build_info": "gauge",
        "benben_plugin_info": "gauge",
        "process_resident_memory_bytes": "gauge",
    }
    assert {name: families[name].type for name in expected} == expected
    # Core's request counters carry no *_created series (counted without prometheus_client's
    # Counter, off the request's hot path). Plugins' metrics are prometheus_client's own,
    # _created and all: the files plugin's count uploads, where a lock costs nothing next to the
    # bytes; so are realtime's, counted on the change streams' dispatcher thread, off requests.
    core = [name for name in families if name.startswith("benben_")]
    # Scheduled backups' too, counted on the worker once a run ends.
    own = ("_files_", "_realtime_", "_backup_")
    assert not [n for n in core if "created" in n and not any(part in n for part in own)]


def test_openmetrics_when_asked(app):
    app.get("/api/v1/")
    response = app.get(
        "/metrics",
        extra_environ=LOCAL,
        headers={"Accept": "application/openmetrics-text; version=1.0.0"},
    )
    assert response.headers["Content-Type"].startswith("application/openmetrics-text;")
    assert response.text.endswith("# EOF\n")
    families = {family.name: family for family in openmetrics_families(response.text)}
    assert families["benben_http_requests"].type == "counter"
    (sample,) = [s for s in families["benben_http_requests"].samples
                 if s.labels.get("route") == "/api/v1/"]  # fmt: skip
    assert sample.value == 1


def test_security_headers_and_cors_leave_the_format_alone(make_app):
    app = make_app({"benben.cors.origins": "https://app.example.org"})
    response = app.get(
        "/metrics", extra_environ=LOCAL, headers={"Origin": "https://app.example.org"}
    )
    assert response.headers["Content-Type"] == TEXT_FORMAT
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.org"
    assert Scrape(response.text).families["benben_build_info"]


def test_db_pool_gauge_follows_the_pool(app):
    engine = get_engine(app.app.registry)
    app.get("/health/ready")  # opens a connection and returns it
    before = scrape(app)
    assert before.value("benben_db_pool_connections", state="checked_out") == 0
    assert before.value("benben_db_pool_connections", state="idle") >= 1

    held = [engine.connect() for _ in range(engine.pool.size() + 1)]
    try:
        during = scrape(app)
        assert during.value("benben_db_pool_connections", state="checked_out") == len(held)
        assert during.value("benben_db_pool_connections", state="overflow") == 1
        assert during.value("benben_db_pool_connections", state="idle") == 0
    finally:
        for connection in held:
            connection.close()
    after = scrape(app)
    assert after.value("benben_db_pool_connections", state="checked_out") == 0
    assert after.value("benben_db_pool_connections", state="idle") >= 1


def test_build_and_plugin_info(make_app):
    entry_point = importlib.metadata.EntryPoint(
        name="gauges", value="metrics_plugin", group="benben.plugins"
    )
    app = make_app(entry_points=[entry_point])
    app.get("/gauges/tick/1")
    app.get("/gauges/tick/2")

    metrics = scrape(app)
    assert metrics.value("benben_build_info", version=__version__) == 1
    assert metrics.value("benben_plugin_info", name="gauges", version="0") == 1
    # The plugin's own metric is on the app's registry, its route labelled with its prefix.
    assert metrics.value("gauges_ticks_total") == 2
    assert metrics.value(REQUESTS, route="/gauges/tick/{n}", status="200") == 2

    other = make_app({"benben.plugins.disabled": "gauges"}, entry_points=[entry_point])
    assert not scrape(other).samples("benben_plugin_info")


def test_each_app_has_its_own_registry(make_app):
    first, second = make_app(), make_app()
    first.get("/api/v1/")
    first.get("/api/v1/")
    second.get("/api/v1/")
    assert scrape(first).value(REQUESTS, route="/api/v1/") == 2
    assert scrape(second).value(REQUESTS, route="/api/v1/") == 1
    registries = {id(get_metrics(app.app.registry).registry) for app in (first, second)}
    assert len(registries) == 2
    # Nothing of Benben's lands in prometheus_client's process-wide default registry.
    assert prometheus_client.REGISTRY.get_sample_value(REQUESTS, {"route": "/api/v1/"}) is None


def test_metrics_off_measures_nothing_and_has_no_route(make_app):
    app = make_app({"benben.metrics.enabled": "off"})
    app.get("/api/v1/")
    response = app.get("/metrics", extra_environ=LOCAL, status=404)
    assert response.content_type == PROBLEM_JSON
    assert get_metrics(app.app.registry) is NULL_METRICS
    NULL_METRICS.login_failure("bad_password")  # the interface stays callable, doing nothing
    NULL_METRICS.ratelimit_rejected("auth")
    NULL_METRICS.cache("hit")


@pytest.mark.parametrize("mode", ["open", "restricted"])
def test_metrics_route_is_documented(make_app, mode):
    app = make_app({"benben.metrics.enabled": mode})
    operation = app.get("/api/v1/openapi.json").json["paths"]["/metrics"]["get"]
    assert operation["operationId"] == "getMetrics"
    assert "text/plain" in operation["responses"]["200"]["content"]
