"""The SSRF guard: internal addresses refused unless allowed, and the checked address is the one
connected to (no second DNS lookup, so no rebinding between check and connection)."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest
from webhooks_delivery_support import Receiver, free_port

from benben_webhooks.sending import send
from benben_webhooks.ssrf import TargetRefusedError, parse_target, refusal, resolve

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.5.6.7", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("fc00::1", "private"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 - an address refused, not bound
    ("::", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.254", "CGNAT"),
    ("169.254.169.254", "metadata"),
    ("fd00:ec2::254", "metadata"),
    ("192.0.2.10", "private"),  # documentation range
    ("::ffff:127.0.0.1", "IPv4-mapped"),
    ("::ffff:10.0.0.1", "IPv4-mapped"),
    ("2002:7f00:1::1", "6to4"),  # 6to4 of 127.0.0.1
    ("2002:a9fe:a9fe::1", "6to4"),  # 6to4 of 169.254.169.254
    ("64:ff9b::a00:1", "NAT64"),  # NAT64 of 10.0.0.1
    ("64:ff9b::a9fe:a9fe", "NAT64"),  # NAT64 of 169.254.169.254
    ("64:ff9b:1::1", "NAT64"),
]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_internal_addresses_are_refused(address: str, kind: str) -> None:
    reason = refusal(ipaddress.ip_address(address))
    assert reason is not None
    assert kind in reason
    with pytest.raises(TargetRefusedError, match=kind):
        resolve(address, 443)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"]
)
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_allowed_networks_let_internal_addresses_through() -> None:
    allowed = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("169.254.169.254/32"))
    assert refusal(ipaddress.ip_address("10.9.9.9"), allowed) is None
    assert refusal(ipaddress.ip_address("169.254.169.254"), allowed) is None
    assert refusal(ipaddress.ip_address("::ffff:10.0.0.1"), allowed) is None  # mapped: inside
    assert refusal(ipaddress.ip_address("192.168.0.1"), allowed) is not None
    assert refusal(ipaddress.ip_address("::1"), allowed) is not None


def resolver_of(*answers: list[str]) -> Any:
    """A getaddrinfo answering each call with the next list of addresses; counts calls."""
    calls: list[str] = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        calls.append(host)
        addresses = answers[min(len(calls), len(answers)) - 1]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    getaddrinfo.calls = calls  # type: ignore[attr-defined]
    return getaddrinfo


def test_a_name_leading_inside_is_refused_even_with_a_public_address() -> None:
    resolver = resolver_of(["93.184.216.34", "10.0.0.5"])
    with pytest.raises(TargetRefusedError, match=r"10\.0\.0\.5, a private address"):
        resolve("hooks.example.test", 443, (), resolver)


def test_urls_with_credentials_or_other_schemes_are_refused() -> None:
    for url in ("ftp://example.org/", "https://user:pw@example.org/", "/relative", "https://"):
        with pytest.raises(TargetRefusedError):
            parse_target(url)
    target = parse_target("https://[2606:4700::1]:8443/a?b=1")
    assert (target.host, target.port, target.path) == ("2606:4700::1", 8443, "/a?b=1")
    assert target.host_header == "[2606:4700::1]:8443"


def test_a_refused_target_is_not_connected_to() -> None:
    with Receiver() as receiver:
        outcome = send(receiver.url, b"{}", {}, timeout=2)
        assert outcome.status_code is None
        assert "refused: 127.0.0.1 is a loopback" in outcome.error
        assert receiver.received == []


def test_an_allowed_loopback_receiver_gets_the_request() -> None:
    with Receiver() as receiver:
        outcome = send(receiver.url, b'{"a": 1}', {"webhook-id": "msg_1"}, timeout=2,
                       allowed_networks=LOOPBACK)  # fmt: skip
        assert outcome.status_code == 204, outcome
        (got,) = receiver.received
        assert got.body == b'{"a": 1}'
        assert got.headers["webhook-id"] == "msg_1"
        assert got.headers["host"] == f"127.0.0.1:{receiver.port}"
        assert got.headers["content-type"] == "application/json"


def test_dns_rebinding_cannot_move_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The name resolves to the allowed receiver first, then (rebound) to a forbidden address:
    it is looked up once, and the request goes to the address that was checked."""
    real_getaddrinfo = socket.getaddrinfo
    rebinding = resolver_of(["127.0.0.1"], ["169.254.169.254"], ["10.0.0.1"])
    lookups: list[str] = []

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        if host == "hooks.example.test":
            return rebinding(host, *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with Receiver() as receiver:
        url = f"http://hooks.example.test:{receiver.port}/hook"
        outcome = send(url, b"{}", {}, timeout=2, allowed_networks=LOOPBACK)
        assert outcome.succeeded, outcome
        assert len(receiver.received) == 1
        assert receiver.received[0].headers["host"] == f"hooks.example.test:{receiver.port}"
    assert rebinding.calls == ["hooks.example.test"]  # one resolution, no second look-up
    assert all(host == "hooks.example.test" or _numeric(host) for host in lookups)
    # Resolved again (a later attempt), the name now leads to metadata: refused.
    outcome = send(url, b"{}", {}, timeout=2, allowed_networks=LOOPBACK)
    assert outcome.status_code is None
    assert "169.254.169.254, a cloud metadata" in outcome.error


def _numeric(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def test_plain_http_only_inside_allowed_networks() -> None:
    outcome = send("http://93.184.216.34/", b"{}", {}, timeout=1)
    assert "plain http:// is sent only inside allowed_networks" in outcome.error


def test_connection_refused_and_timeouts_are_failures_not_errors() -> None:
    port = free_port()
    outcome = send(f"http://127.0.0.1:{port}/", b"{}", {}, timeout=2, allowed_networks=LOOPBACK)
    assert outcome.status_code is None
    assert "could not connect" in outcome.error
    with Receiver(delay=1.0) as slow:
        outcome = send(slow.url, b"{}", {}, timeout=0.3, allowed_networks=LOOPBACK)
        assert outcome.status_code is None
        assert outcome.error == "timed out", outcome
        assert outcome.latency_ms < 900


def test_redirects_are_not_followed_and_bodies_are_truncated() -> None:
    answer = (302, {"Location": "http://169.254.169.254/latest"}, b"moved")
    with Receiver(answer=answer) as receiver:
        outcome = send(receiver.url, b"{}", {}, timeout=2, allowed_networks=LOOPBACK)
        assert outcome.status_code == 302
        assert not outcome.succeeded
        assert "redirect to http://169.254.169.254/latest not followed" in outcome.error
        assert len(receiver.received) == 1
    with Receiver(answer=(500, {"Retry-After": "120"}, b"x" * 10_000)) as receiver:
        outcome = send(receiver.url, b"{}", {}, timeout=2, allowed_networks=LOOPBACK,
                       response_log_bytes=100)  # fmt: skip
        assert outcome.status_code == 500
        assert outcome.response_body == "x" * 100
        assert outcome.retry_after == 120.0
