"""CORS: preflight for allowed and refused origins, credentials rules, exposed headers."""

from __future__ import annotations

import pytest
from pyramid.exceptions import ConfigurationError

from benben.config import configure

ALLOWED = "https://app.example.org"
OTHER = "https://evil.example.net"
EXPOSED = {"ETag", "Location", "X-Request-ID", "RateLimit-Limit", "RateLimit-Remaining",
           "RateLimit-Reset", "Retry-After",
           "Deprecation", "Sunset", "Link"}  # fmt: skip


@pytest.fixture
def app(make_app):
    return make_app({"benben.cors.origins": f"{ALLOWED} http://localhost:3000",
                     "benben.cors.max_age": "900"})  # fmt: skip


def preflight(app, origin, method="POST", headers="Authorization, Content-Type", status=204):
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        request_headers["Access-Control-Request-Headers"] = headers
    return app.options("/api/v1/auth/login", headers=request_headers, status=status)


def cors_headers(response):
    return {name for name in response.headers if name.lower().startswith("access-control-")}


def test_preflight_from_an_allowed_origin(app):
    response = preflight(app, ALLOWED)
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= methods
    allowed = response.headers["Access-Control-Allow-Headers"].lower().split(", ")
    assert set(allowed) == {"authorization", "content-type"}
    assert response.headers["Access-Control-Max-Age"] == "900"
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert response.body == b""


def test_a_page_on_another_origin_may_resume_a_change_stream(app):
    response = preflight(app, ALLOWED, headers="Authorization, Last-Event-ID")
    allowed = response.headers["Access-Control-Allow-Headers"].lower().split(", ")
    assert set(allowed) == {"authorization", "last-event-id"}


def test_preflight_allows_only_sane_request_headers(app):
    response = preflight(app, ALLOWED, headers="If-Match, X-Request-ID, X-Evil, Cookie")
    allowed = response.headers["Access-Control-Allow-Headers"].lower().split(", ")
    assert allowed == ["if-match", "x-request-id"]


def test_preflight_from_a_refused_origin_is_403_without_cors_headers(app):
    response = preflight(app, OTHER, status=403)
    assert response.content_type == "application/problem+json"
    assert response.json["status"] == 403
    assert cors_headers(response) == set()


def test_preflight_refused_when_no_origin_is_configured(make_app):
    app = make_app()
    response = preflight(app, ALLOWED, status=403)
    assert cors_headers(response) == set()


def test_origins_match_exactly(app):
    near_misses = ["https://app.example.org:8443", "http://app.example.org", "null",
                   "https://app.example.org.evil.net", "https://sub.app.example.org"]  # fmt: skip
    for near_miss in near_misses:
        assert cors_headers(preflight(app, near_miss, status=403)) == set()
    # Hosts are case-insensitive; browsers send them lowercase anyway.
    preflight(app, "https://APP.example.org")


def test_actual_request_from_an_allowed_origin(app):
    response = app.get("/api/v1/", headers={"Origin": "http://localhost:3000"})
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed == EXPOSED
    assert "Origin" in response.headers["Vary"]


def test_error_responses_carry_cors_headers(app):
    missing = app.get("/nowhere", headers={"Origin": ALLOWED}, status=404)
    assert missing.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Retry-After" in missing.headers["Access-Control-Expose-Headers"]
    unauthenticated = app.get(
        "/api/v1/auth/me", headers={"Origin": ALLOWED, "Authorization": "Bearer forged"},
        status=401,
    )  # fmt: skip
    assert unauthenticated.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_rate_limited_responses_carry_cors_headers(make_app):
    app = make_app({"benben.cors.origins": ALLOWED, "benben.ratelimit.default": "1/minute"})
    app.get("/api/v1/", headers={"Origin": ALLOWED})
    refused = app.get("/api/v1/", headers={"Origin": ALLOWED}, status=429)
    assert refused.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Retry-After" in refused.headers["Access-Control-Expose-Headers"]


def test_actual_request_from_another_origin_gets_no_cors_headers(app):
    response = app.get("/api/v1/", headers={"Origin": OTHER})
    assert cors_headers(response) == set()
    assert "Origin" in response.headers["Vary"]  # a cache must not reuse it for ALLOWED


def test_credentials_are_allowed_when_configured(make_app):
    app = make_app({"benben.cors.origins": ALLOWED, "benben.cors.allow_credentials": "true"})
    response = preflight(app, ALLOWED)
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    actual = app.get("/api/v1/", headers={"Origin": ALLOWED})
    assert actual.headers["Access-Control-Allow-Credentials"] == "true"


def test_wildcard_without_credentials_admits_any_origin(make_app):
    app = make_app({"benben.cors.origins": "*"})
    response = preflight(app, OTHER)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    actual = app.get("/api/v1/", headers={"Origin": OTHER})
    assert actual.headers["Access-Control-Allow-Origin"] == "*"


def test_wildcard_with_credentials_is_a_configuration_error(tmp_path):
    settings = {"benben.data_dir": str(tmp_path), "benben.cors.origins": "*",
                "benben.cors.allow_credentials": "true"}  # fmt: skip
    with pytest.raises(ConfigurationError, match=r"benben\.cors\.allow_credentials"):
        configure(settings, environ={})


@pytest.mark.parametrize(
    "origin",
    ["app.example.org", "https://app.example.org/", "https://app.example.org/path",
     "ftp://files.example.org", "https://user@app.example.org", "https://host:port"],
)  # fmt: skip
def test_malformed_origins_are_refused_naming_the_setting(tmp_path, origin):
    settings = {"benben.data_dir": str(tmp_path), "benben.cors.origins": origin}
    with pytest.raises(ConfigurationError, match=r"benben\.cors\.origins"):
        configure(settings, environ={})


def test_plain_options_request_is_not_a_preflight(app):
    # Without Access-Control-Request-Method it is an ordinary request (here: method not allowed).
    response = app.options("/api/v1/auth/login", headers={"Origin": ALLOWED}, status=405)
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_preflight_answers_carry_the_request_id(app):
    for origin, status in ((ALLOWED, 204), (OTHER, 403)):
        response = app.options(
            "/api/v1/auth/login",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                     "X-Request-ID": f"preflight-{status}"},
            status=status,
        )  # fmt: skip
        assert response.headers["X-Request-ID"] == f"preflight-{status}"
