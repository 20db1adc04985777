"""Secrets sent in query strings never reach the logs: the access line (text and JSON), the other
lines of the request, tracing spans and problem bodies show ``[REDACTED]`` or nothing."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from benben.observability.logs import JSONFormatter, TextFormatter
from benben.observability.otel import get_tracing
from benben.observability.redact import REDACTED, QueryRedactor

SECRET = "s3cr3t-value-42"


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "benben.access"]


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    text, structured = TextFormatter(), JSONFormatter()
    return "\n".join(f(r) for r in caplog.records for f in (text.format, structured.format))


def test_the_access_line_redacts_a_token_in_the_query(app, caplog):
    caplog.set_level(logging.INFO)
    app.get(f"/health/live?access_token={SECRET}&x=1")
    (access,) = access_lines(caplog)
    assert access.getMessage() == f"GET /health/live?access_token={REDACTED}&x=1 200"
    entry = json.loads(JSONFormatter().format(access))
    assert entry["message"] == f"GET /health/live?access_token={REDACTED}&x=1 200"
    assert entry["path"] == "/health/live"
    assert SECRET not in everything_logged(caplog)


@pytest.mark.parametrize(
    "query",
    [
        f"token={SECRET}",
        f"Refresh_Token={SECRET}",
        f"ticket={SECRET}&page=2",
        f"code={SECRET}&state=abc",
        f"api_key={SECRET}",
        f"apiKey={SECRET}",
        f"X-Amz-Signature={SECRET}",
        f"client_secret={SECRET}",
        f"password={SECRET}",
        f"access%5Ftoken={SECRET}",  # percent-encoded name
        f"x=1;jwt={SECRET}",  # ";" read as "&" by some servers
        f"sig={SECRET}&sig={SECRET}",  # every occurrence
    ],
)
def test_every_sensitive_name_is_redacted_on_every_request_line(app, caplog, query):
    caplog.set_level(logging.INFO)
    response = app.get(f"/api/v1/nowhere?{query}", status=404)
    assert SECRET not in response.text  # the problem's instance is the path alone
    assert response.json["instance"] == "/api/v1/nowhere"
    (access,) = access_lines(caplog)
    assert REDACTED in access.getMessage()
    assert SECRET not in everything_logged(caplog)


def test_harmless_parameters_are_logged_as_sent(app, caplog):
    caplog.set_level(logging.INFO)
    app.get("/health/live?limit=10&sort=-last_modified&q=a%20b&tokenize")
    (access,) = access_lines(caplog)
    assert (
        access.getMessage() == "GET /health/live?limit=10&sort=-last_modified&q=a%20b&tokenize 200"
    )


def test_a_path_that_is_not_utf8_still_has_its_query_redacted(app, caplog):
    caplog.set_level(logging.INFO)
    app.get(f"/%ff?token={SECRET}&x=1", status=400)
    (access,) = access_lines(caplog)
    assert access.getMessage().endswith(f"?token={REDACTED}&x=1 400")
    assert SECRET not in everything_logged(caplog)


def test_operators_add_names(make_app, caplog):
    caplog.set_level(logging.INFO)
    app = make_app({"benben.logging.redact": "tenant, magic_word"})
    app.get(f"/health/live?tenant={SECRET}&magic_word={SECRET}&token={SECRET}&x=1")
    (access,) = access_lines(caplog)
    assert access.getMessage() == (
        f"GET /health/live?tenant={REDACTED}&magic_word={REDACTED}&token={REDACTED}&x=1 200"
    )


def test_tracing_spans_carry_no_query_value(make_app):
    app = make_app({"benben.tracing.enabled": "true", "benben.tracing.exporter": "none"})
    exporter = InMemorySpanExporter()
    get_tracing(app.app.registry).provider.add_span_processor(SimpleSpanProcessor(exporter))
    app.get(f"/api/v1/?access_token={SECRET}")
    spans = exporter.get_finished_spans()
    assert spans
    for span in spans:
        assert SECRET not in json.dumps(dict(span.attributes or {}), default=str)
        assert SECRET not in span.name


def test_the_redactor_keeps_the_query_as_received_but_the_secret_values():
    redactor = QueryRedactor()
    assert redactor.redact("") == ""
    assert redactor.redact("token") == "token"  # no value, nothing to hide
    assert redactor.redact("token=") == "token="
    assert redactor.redact("password=a=b&x=%20") == f"password={REDACTED}&x=%20"
    assert redactor.redact("accesstoken=1&keyboard=2") == f"accesstoken={REDACTED}&keyboard=2"
    assert redactor.sensitive("session_id")
    assert not redactor.sensitive("monkey")
