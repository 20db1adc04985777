"""OpenTelemetry tracing (the ``otel`` extra): request and SQL spans, W3C ``traceparent`` in and
``traceresponse`` out, trace ids in log lines, exporters, and nothing loaded when disabled."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from benben.observability.logs import JSONFormatter, TextFormatter
from benben.observability.otel import get_tracing

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACED = {"benben.tracing.enabled": "true", "benben.tracing.exporter": "none"}


def include_test_views(config):
    def chatty(request):
        logging.getLogger("tests.traced").warning("inside the view")
        return {}

    def broken(request):
        raise RuntimeError("boom")

    config.add_route("test.chatty", "/test/chatty")
    config.add_route("test.broken", "/test/broken")
    config.add_view(chatty, route_name="test.chatty", renderer="json")
    config.add_view(broken, route_name="test.broken", renderer="json")


@pytest.fixture
def traced(make_app):
    """``traced(overrides)`` -> (app, exporter): a tracing app whose spans land in memory."""

    def factory(overrides=None):
        app = make_app({**TRACED, **(overrides or {})}, include=include_test_views)
        exporter = InMemorySpanExporter()
        provider = get_tracing(app.app.registry).provider
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return app, exporter

    return factory


def server_span(exporter):
    (span,) = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    return span


def test_a_request_and_its_sql_are_spans(traced, create_user, auth_headers, backends):
    app, exporter = traced()
    user_id = create_user("admin", is_admin=True)
    headers = auth_headers(app, "admin")
    exporter.clear()

    app.get(f"/api/v1/users/{user_id}", headers=headers)
    server = server_span(exporter)
    assert server.name == "GET /api/v1/users/{id}"
    assert server.attributes["http.route"] == "/api/v1/users/{id}"
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["http.request.method"] == "GET"
    assert server.parent is None
    assert server.resource.attributes["service.name"] == "benben"

    sql = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert any(s.attributes["db.operation.name"] == "SELECT" for s in sql)
    for span in sql:
        assert span.context.trace_id == server.context.trace_id
        assert span.parent.span_id == server.context.span_id
        assert span.attributes["db.system.name"] == backends.database
        assert user_id not in span.attributes["db.query.text"]  # statements, not parameters


def test_the_callers_traceparent_is_the_parent(traced):
    app, exporter = traced()
    response = app.get(
        "/api/v1/",
        headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01", "tracestate": "vendor=v1"},
    )
    server = server_span(exporter)
    assert f"{server.context.trace_id:032x}" == TRACE_ID
    assert f"{server.parent.span_id:016x}" == PARENT_ID
    assert server.parent.is_remote
    assert server.context.trace_state.get("vendor") == "v1"
    assert response.headers["traceresponse"] == (f"00-{TRACE_ID}-{server.context.span_id:016x}-01")


def test_an_unsampled_caller_is_followed(traced, caplog):
    app, exporter = traced()
    caplog.set_level(logging.INFO)
    response = app.get("/api/v1/", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-00"})
    assert exporter.get_finished_spans() == ()
    assert response.headers["traceresponse"].startswith(f"00-{TRACE_ID}-")
    assert response.headers["traceresponse"].endswith("-00")
    (access,) = [r for r in caplog.records if r.name == "benben.access"]
    assert access.trace_id == TRACE_ID  # logs still join the caller's trace


def test_a_malformed_traceparent_starts_a_new_trace(traced):
    app, exporter = traced()
    app.get("/api/v1/", headers={"traceparent": "00-not-a-trace-01"})
    server = server_span(exporter)
    assert server.parent is None
    assert f"{server.context.trace_id:032x}" != TRACE_ID


def test_log_lines_carry_the_trace_id(traced, caplog):
    app, exporter = traced()
    caplog.set_level(logging.INFO)
    app.get("/test/chatty", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    span_id = f"{server_span(exporter).context.span_id:016x}"
    (inside,) = [r for r in caplog.records if r.name == "tests.traced"]
    (access,) = [r for r in caplog.records if r.name == "benben.access"]
    for record in (inside, access):
        assert (record.trace_id, record.span_id) == (TRACE_ID, span_id)
    line = json.loads(JSONFormatter().format(inside))
    assert (line["trace_id"], line["span_id"]) == (TRACE_ID, span_id)
    assert f"trace={TRACE_ID}]" in TextFormatter().format(inside)
    assert TRACE_ID in TextFormatter("%(trace_id)s %(message)s").format(access)


def test_without_tracing_nothing_is_added(make_app, caplog):
    app = make_app()
    caplog.set_level(logging.INFO)
    response = app.get("/api/v1/", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    assert "traceresponse" not in response.headers
    assert get_tracing(app.app.registry) is None
    (access,) = [r for r in caplog.records if r.name == "benben.access"]
    assert access.trace_id is None
    assert "trace_id" not in json.loads(JSONFormatter().format(access))
    assert "trace=" not in TextFormatter().format(access)


def test_sample_ratio_applies_to_new_traces_only(traced):
    app, exporter = traced({"benben.tracing.sample_ratio": "0"})
    app.get("/api/v1/")
    assert exporter.get_finished_spans() == ()
    app.get("/api/v1/", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    assert f"{server_span(exporter).context.trace_id:032x}" == TRACE_ID


def test_server_errors_mark_the_span(traced):
    app, exporter = traced()
    app.get("/test/broken", status=500)
    server = server_span(exporter)
    assert server.status.status_code == StatusCode.ERROR
    assert server.attributes["http.response.status_code"] == 500
    app.get("/no/such/path", status=404)
    (missing,) = [s for s in exporter.get_finished_spans() if s.name == "GET"]
    assert missing.status.status_code == StatusCode.UNSET  # the client's error, not ours
    assert "http.route" not in missing.attributes


def test_scrapes_are_not_traced(traced):
    app, exporter = traced()
    app.get("/metrics", extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    assert exporter.get_finished_spans() == ()


def test_console_exporter_prints_spans(make_app, capfd):
    app = make_app({**TRACED, "benben.tracing.exporter": "console"})
    capfd.readouterr()
    app.get("/health/live")
    printed = capfd.readouterr().out
    assert '"name": "GET /health/live"' in printed
    assert '"kind": "SpanKind.SERVER"' in printed


class Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]]

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def collector():
    """An OTLP/HTTP endpoint on loopback that keeps what it receives."""
    handler = type("Handler", (Collector,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1/traces", handler.received
    finally:
        server.shutdown()
        server.server_close()


def test_otlp_exporter_sends_spans_to_the_endpoint(make_app, collector):
    endpoint, received = collector
    app = make_app({**TRACED, "benben.tracing.exporter": "otlp",
                    "benben.tracing.otlp_endpoint": endpoint,
                    "benben.tracing.service_name": "benben-test"})  # fmt: skip
    provider = get_tracing(app.app.registry).provider
    try:
        app.get("/api/v1/")
        assert provider.force_flush(timeout_millis=10_000)
    finally:
        provider.shutdown()
    assert received, "nothing reached the OTLP endpoint"
    path, content_type, body = received[0]
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    request = ExportTraceServiceRequest.FromString(body)
    (resource_spans,) = request.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "benben-test"
    names = [span.name for scope in resource_spans.scope_spans for span in scope.spans]
    assert "GET /api/v1/" in names


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


WITHOUT_THE_EXTRA = """
import sys
sys.modules["opentelemetry"] = None  # as if the extra were not installed
from pyramid.exceptions import ConfigurationError
from benben.config import configure
settings = {"benben.data_dir": sys.argv[1], "benben.tracing.enabled": sys.argv[2]}
try:
    configure(settings, environ={})
except ConfigurationError as exc:
    print("refused:", exc)
else:
    print("started")
"""


def test_enabling_tracing_without_the_extra_stops_start_up(tmp_path):
    result = run_python(WITHOUT_THE_EXTRA, str(tmp_path), "true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("refused: benben.tracing.enabled = true needs OpenTelemetry")
    assert "pip install 'benben[otel]'" in result.stdout
    # Disabled, the missing extra is no matter.
    assert run_python(WITHOUT_THE_EXTRA, str(tmp_path), "false").stdout == "started\n"


def test_nothing_of_opentelemetry_is_loaded_when_disabled(tmp_path):
    code = """
import sys, webtest
from benben.config import make_wsgi_app
app = webtest.TestApp(make_wsgi_app({"benben.data_dir": sys.argv[1]}, environ={}))
app.get("/api/v1/")
print(sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry"
             or m == "benben.observability.otel"))
print("benben.observability.tracing" in sys.modules)
"""
    result = run_python(code, str(tmp_path / f"var-{uuid.uuid4().hex[:6]}"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "True"]
