"""X-Request-ID: kept when sane, generated otherwise, always returned."""

from __future__ import annotations

import logging
import re

import pytest

GENERATED = re.compile(r"^[0-9a-f]{32}$")


SANE = ["abc-123", "0f8e4b1c-2d3a-4e5f-9a8b-7c6d5e4f3a2b", "trace:svc/1@host+x=y.z_", "x" * 128]


@pytest.mark.parametrize("given", SANE)
def test_sane_request_id_is_kept(app, given):
    response = app.get("/health/live", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == given


@pytest.mark.parametrize(
    "given",
    ["x" * 129, "abc\x01def", "abc def", "abc\n", "abc\r\nSet-Cookie: a=b", "", "ünïcode", "a;b"],
    ids=["too-long", "control", "space", "newline", "header-injection", "empty", "non-ascii",
         "semicolon"],
)  # fmt: skip
def test_insane_request_id_is_replaced(app, given):
    response = app.get("/health/live", extra_environ={"HTTP_X_REQUEST_ID": given})
    assert GENERATED.match(response.headers["X-Request-ID"])


def test_request_id_is_generated_per_request(app):
    first = app.get("/health/live").headers["X-Request-ID"]
    second = app.get("/health/live").headers["X-Request-ID"]
    assert GENERATED.match(first)
    assert GENERATED.match(second)
    assert first != second


def test_error_responses_carry_the_request_id(app):
    response = app.get("/nowhere", headers={"X-Request-ID": "lost-1"}, status=404)
    assert response.headers["X-Request-ID"] == "lost-1"
    assert response.json["request_id"] == "lost-1"


def test_a_path_that_is_not_utf8_is_a_logged_400_problem(app, caplog):
    caplog.set_level(logging.INFO, logger="benben.access")
    response = app.get("/t/%ff", status=400)
    assert response.content_type == "application/problem+json"
    assert response.json["detail"] == "The request path is not valid UTF-8."
    assert response.headers["X-Request-ID"] == response.json["request_id"]
    (line,) = [r for r in caplog.records if r.name == "benben.access"]
    assert line.status == 400


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/health/live", "/health/live"),
        ("/t/caf%C3%A9", "/t/caf%C3%A9"),  # decoded by the server, logged quoted again
        ("/t/a%20b", "/t/a%20b"),
        ("/t/~a!$&'()*+,;=:@-._", "/t/~a!$&'()*+,;=:@-._"),
        ("/t/50%25", "/t/50%25"),
    ],
)
def test_the_access_log_shows_the_path_quoted_as_received(app, caplog, path, logged):
    caplog.set_level(logging.INFO, logger="benben.access")
    app.get(path, status="*")
    (line,) = [r for r in caplog.records if r.name == "benben.access"]
    assert line.path == logged


def test_the_access_log_shows_the_script_name(app, caplog):
    caplog.set_level(logging.INFO, logger="benben.access")
    app.get("/live", extra_environ={"SCRIPT_NAME": "/health"}, status="*")
    (line,) = [r for r in caplog.records if r.name == "benben.access"]
    assert line.path == "/health/live"
