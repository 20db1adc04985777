"""X-Forwarded-* believed only from trusted proxies; the client is the rightmost untrusted hop."""

from __future__ import annotations

import pytest
from pyramid.exceptions import ConfigurationError
from pyramid.response import Response

from benben.config import configure
from benben.hardening.proxies import TrustedProxies, apply_forwarded

PROXY = "10.1.2.3"  # inside the trusted 10.1.0.0/16
EDGE = "192.168.7.1"  # trusted single address
STRANGER = "203.0.113.9"


def add_whoami(config):
    def whoami(request):
        return Response(json_body={
            "client_addr": request.client_addr,
            "scheme": request.scheme,
            "host": request.host,
            "url": request.route_url("t.whoami"),
            "forwarded_for": request.headers.get("X-Forwarded-For"),
        })  # fmt: skip

    config.add_route("t.whoami", "/t/whoami")
    config.add_view(whoami, route_name="t.whoami")


@pytest.fixture
def app(make_app):
    return make_app(
        {"benben.security.trusted_proxies": f"10.1.0.0/16 {EDGE}",
         "benben.ratelimit.default": "2/minute"},
        include=add_whoami,
    )  # fmt: skip


def whoami(app, peer, status=200, **headers):
    names = {"xff": "X-Forwarded-For", "proto": "X-Forwarded-Proto", "host": "X-Forwarded-Host"}
    sent = {names[key]: value for key, value in headers.items()}
    return app.get("/t/whoami", headers=sent, extra_environ={"REMOTE_ADDR": peer}, status=status)


def test_trusted_proxy_forwards_the_client(app):
    seen = whoami(app, PROXY, xff="198.51.100.4", proto="https", host="api.example.org").json
    assert seen["client_addr"] == "198.51.100.4"
    assert seen["scheme"] == "https"
    assert seen["host"] == "api.example.org"
    assert seen["url"] == "https://api.example.org/t/whoami"
    assert seen["forwarded_for"] is None  # nothing below sees the raw header


def test_untrusted_peer_headers_are_ignored(app):
    seen = whoami(app, STRANGER, xff="198.51.100.4", proto="https", host="evil.example").json
    assert seen["client_addr"] == STRANGER
    assert seen["scheme"] == "http"
    assert seen["host"] != "evil.example"
    assert seen["forwarded_for"] is None  # WebOb's client_addr would believe it otherwise


def test_forged_leftmost_entry_is_not_the_client(app):
    # The client sent "X-Forwarded-For: 1.1.1.1"; the edge proxy appended the client's real
    # address, the inner proxy the edge's.
    seen = whoami(app, PROXY, xff=f"1.1.1.1, 198.51.100.4, {EDGE}").json
    assert seen["client_addr"] == "198.51.100.4"


def test_chain_of_only_trusted_proxies_resolves_to_the_leftmost(app):
    assert whoami(app, PROXY, xff=f"10.1.9.9, {EDGE}").json["client_addr"] == "10.1.9.9"


def test_garbage_in_the_chain_stops_at_the_last_trusted_hop(app):
    seen = whoami(app, PROXY, xff=f"not-an-address, {EDGE}").json
    assert seen["client_addr"] == EDGE
    assert whoami(app, PROXY, xff="garbage").json["client_addr"] == PROXY


def test_forwarded_values_with_ports_and_ipv6(app):
    assert whoami(app, PROXY, xff="198.51.100.4:5678").json["client_addr"] == "198.51.100.4"
    assert whoami(app, PROXY, xff="[2001:db8::1]:443").json["client_addr"] == "2001:db8::1"
    assert whoami(app, PROXY, xff="2001:db8::2").json["client_addr"] == "2001:db8::2"


def test_invalid_forwarded_proto_and_host_are_ignored(app):
    seen = whoami(app, PROXY, xff="198.51.100.4", proto="gopher", host="bad host/path").json
    assert seen["scheme"] == "http"
    assert seen["host"] != "bad host/path"


def test_proto_and_host_of_the_hop_that_saw_the_client(app):
    # The client forged "http" and a host; the edge appended what it saw ("https").
    seen = whoami(app, PROXY, xff=f"198.51.100.4, {EDGE}", proto="http, https, http",
                  host="forged.example, api.example.org, inner.local").json  # fmt: skip
    assert seen["scheme"] == "https"
    assert seen["host"] == "api.example.org"


def test_rate_limits_follow_the_forwarded_client(app):
    for _ in range(2):
        whoami(app, PROXY, xff="198.51.100.4")
    whoami(app, EDGE, xff="198.51.100.4", status=429)  # same client through another proxy
    whoami(app, PROXY, xff="198.51.100.5")  # another client through the same proxy


def test_spoofed_forwarded_for_cannot_escape_rate_limits(app):
    for index in range(2):
        whoami(app, STRANGER, xff=f"198.51.100.{index}")
    whoami(app, STRANGER, xff="198.51.100.99", status=429)


def test_without_trusted_proxies_nothing_is_believed(make_app):
    app = make_app(include=add_whoami)
    seen = whoami(app, "127.0.0.1", xff="198.51.100.4", proto="https").json
    assert seen["client_addr"] == "127.0.0.1"
    assert seen["scheme"] == "http"


def test_access_log_records_the_resolved_client(app, caplog):
    caplog.set_level("INFO", logger="benben.access")
    whoami(app, STRANGER, xff="1.1.1.1")
    whoami(app, PROXY, xff="198.51.100.4")
    addresses = [r.remote_addr for r in caplog.records if r.name == "benben.access"]
    assert addresses == [STRANGER, "198.51.100.4"]


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "not-a-network", "10.0.0.0/8/1", "300.1.1.1"])
def test_invalid_trusted_proxies_are_refused_naming_the_setting(tmp_path, entry):
    settings = {"benben.data_dir": str(tmp_path), "benben.security.trusted_proxies": entry}
    with pytest.raises(ConfigurationError, match=r"benben\.security\.trusted_proxies"):
        configure(settings, environ={})


def test_apply_forwarded_is_idempotent():
    trusted = TrustedProxies.from_setting(["10.0.0.0/8"])
    environ = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.4"}
    apply_forwarded(environ, trusted)
    environ["HTTP_X_FORWARDED_FOR"] = "10.9.9.9"  # a retried attempt must not re-resolve
    apply_forwarded(environ, trusted)
    assert environ["REMOTE_ADDR"] == "198.51.100.4"
    assert environ["benben.proxies.peer"] == "10.0.0.1"


def test_ipv4_mapped_peer_is_matched():
    trusted = TrustedProxies.from_setting(["10.0.0.0/8"])
    environ = {"REMOTE_ADDR": "::ffff:10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.4"}
    apply_forwarded(environ, trusted)
    assert environ["REMOTE_ADDR"] == "198.51.100.4"


def test_trusted_proxy_without_forwarded_for_still_gives_the_scheme(app):
    seen = whoami(app, PROXY, proto="https").json
    assert seen["client_addr"] == PROXY
    assert seen["scheme"] == "https"
