"""Who may read ``/metrics``: off, open, restricted to networks and/or a bearer token, with the
client address that trusted proxies vouch for."""

from __future__ import annotations

import pytest
from metrics_support import TEXT_FORMAT
from pyramid.exceptions import ConfigurationError

from benben.errors import PROBLEM_JSON

TOKEN = "s3cret-metrics-token-0123456789"
PUBLIC = {"REMOTE_ADDR": "203.0.113.9"}


def get(app, address, status=200, **headers):
    return app.get("/metrics", extra_environ={"REMOTE_ADDR": address}, headers=headers,
                   status=status)  # fmt: skip


def assert_refused(response, status):
    assert response.status_code == status
    assert response.content_type == PROBLEM_JSON
    assert response.json["status"] == status
    assert response.json["request_id"] == response.headers["X-Request-ID"]
    assert "benben_" not in response.text


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "::1", "10.1.2.3", "172.20.0.4", "192.168.1.20", "fd12::7"]
)
def test_restricted_by_default_serves_loopback_and_private_networks(app, address):
    response = get(app, address)
    assert response.headers["Content-Type"] == TEXT_FORMAT
    assert "benben_build_info" in response.text


@pytest.mark.parametrize("address", ["203.0.113.9", "8.8.8.8", "2001:db8::1", ""])
def test_restricted_refuses_other_addresses_with_403(app, address):
    assert_refused(get(app, address, status=403), 403)


def test_open_serves_anyone(make_app):
    app = make_app({"benben.metrics.enabled": "open"})
    assert "benben_build_info" in get(app, "203.0.113.9").text


def test_the_token_admits_from_anywhere(make_app):
    app = make_app({"benben.metrics.token": TOKEN})
    response = get(app, "203.0.113.9", Authorization=f"Bearer {TOKEN}")
    assert "benben_build_info" in response.text
    assert get(app, "127.0.0.1", Authorization=f"bearer {TOKEN}").status_code == 200


def test_a_missing_token_is_asked_for_where_it_would_help(make_app):
    app = make_app({"benben.metrics.token": TOKEN})
    response = get(app, "203.0.113.9", status=401)
    assert_refused(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="benben-metrics"'
    assert get(app, "127.0.0.1").status_code == 200  # the networks still need no token


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer", f"Basic {TOKEN}", "Bearer ünï"],
)
def test_a_wrong_token_is_refused_even_from_an_allowed_network(make_app, authorization):
    app = make_app({"benben.metrics.token": TOKEN})
    for address in ("203.0.113.9", "127.0.0.1"):
        response = get(app, address, status=401, Authorization=authorization)
        assert_refused(response, 401)
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_token_is_refused_when_none_is_configured(app):
    assert_refused(get(app, "127.0.0.1", status=401, Authorization=f"Bearer {TOKEN}"), 401)


def test_allowed_networks_replace_the_defaults(make_app):
    app = make_app({"benben.metrics.allowed_networks": "198.51.100.0/24 2001:db8::/32"})
    assert get(app, "198.51.100.7").status_code == 200
    assert get(app, "2001:db8::5").status_code == 200
    assert_refused(get(app, "127.0.0.1", status=403), 403)


def test_the_client_address_is_the_one_trusted_proxies_vouch_for(make_app):
    app = make_app({"benben.security.trusted_proxies": "127.0.0.1"})
    # Through the trusted proxy: the forwarded client decides.
    assert_refused(get(app, "127.0.0.1", status=403, **{"X-Forwarded-For": "203.0.113.9"}), 403)
    assert get(app, "127.0.0.1", **{"X-Forwarded-For": "10.0.0.5"}).status_code == 200
    # From anyone else the header is a forgery and ignored.
    assert_refused(get(app, "203.0.113.9", status=403, **{"X-Forwarded-For": "127.0.0.1"}), 403)


def test_refused_scrapes_are_not_rate_limited(make_app):
    app = make_app({"benben.ratelimit.default": "1/minute"})
    for _ in range(3):
        assert_refused(get(app, "203.0.113.9", status=403), 403)


def test_off_answers_404(make_app):
    app = make_app({"benben.metrics.enabled": "off", "benben.metrics.token": TOKEN})
    response = get(app, "127.0.0.1", status=404)
    assert response.content_type == PROBLEM_JSON


def test_other_methods_are_not_served(app):
    response = app.post("/metrics", extra_environ={"REMOTE_ADDR": "127.0.0.1"}, status=405)
    assert response.content_type == PROBLEM_JSON
    assert "benben_" not in response.text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"benben.metrics.allowed_networks": "10.0.0.0/33"}, "benben.metrics.allowed_networks"),
        ({"benben.metrics.token": "short"}, "benben.metrics.token: at least 16"),
        (
            {"benben.metrics.allowed_networks": "", "benben.metrics.token": ""},
            "restricted admits no one",
        ),
        ({"benben.metrics.enabled": "yes"}, "off, open, restricted"),
    ],
)
def test_bad_settings_stop_start_up_naming_them(make_app, overrides, message):
    with pytest.raises(ConfigurationError, match=message):
        make_app(overrides)
