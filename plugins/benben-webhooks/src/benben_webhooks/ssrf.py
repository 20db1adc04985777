"""The SSRF guard: a webhook is sent only to addresses outside this deployment's networks, and to
the very address that was checked.

A target's host is resolved once; every address it resolves to must be public (not loopback,
private, link-local, multicast, unspecified, reserved, shared CGNAT space, a cloud metadata
address, nor an IPv4 address of those kinds inside an IPv6 one: mapped, 6to4, Teredo, NAT64),
unless it lies in ``benben.webhooks.allowed_networks``.  The connection then goes to that
checked address (the host name travels in the ``Host`` header, and as TLS SNI and the name the
certificate must match), so a DNS answer that changes between the check and the connection
(rebinding) cannot redirect it.  No proxy from the environment is used (urllib3 reads none), and
redirects are not followed.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import urllib3

__all__ = [
    "Address",
    "Network",
    "Resolver",
    "Target",
    "TargetRefusedError",
    "check_address",
    "close_pools",
    "connection_pool",
    "parse_target",
    "refusal",
    "resolve",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[..., Sequence[Any]]  # socket.getaddrinfo's signature

# Cloud instance metadata (AWS, GCP, Azure, ECS tasks, Alibaba, Oracle): named in refusals,
# since they are the usual prize of an SSRF.
METADATA = frozenset(
    ipaddress.ip_address(text)
    for text in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 shared address space
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: an IPv4 address in the last 32 bits
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local-use translation


class TargetRefusedError(Exception):
    """The target may not be sent to: ``reason`` says why (shown in the delivery log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: where to connect, and what to say in the request line."""

    scheme: str
    host: str  # without brackets for IPv6 literals
    port: int
    path: str  # path and query, as sent

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_target(url: str) -> Target:
    """TargetRefusedError unless ``url`` is an absolute http(s) URL with a host, no userinfo."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefusedError(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefusedError("not an absolute http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise TargetRefusedError("credentials in the URL are not sent")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default, path)


def refusal(address: Address, allowed: Iterable[Network] = ()) -> str | None:
    """Why ``address`` may not be sent to, or None if it may."""
    allowed = tuple(allowed)
    if any(address.version == network.version and address in network for network in allowed):
        return None
    if address in METADATA:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            kind, inner = embedded
            reason = refusal(inner, allowed)
            return f"{kind} {inner}, {reason}" if reason else None
        if address in NAT64_LOCAL:
            return "a local-use NAT64 address"
    for test, reason in _KINDS:
        if test(address):
            return reason
    return None


_KINDS: tuple[tuple[Callable[[Any], bool], str], ...] = (
    (lambda a: a.is_loopback, "a loopback address"),
    (lambda a: a.is_unspecified, "the unspecified address"),
    (lambda a: a.is_link_local, "a link-local address"),
    (lambda a: a.is_multicast, "a multicast address"),
    (lambda a: a.version == 4 and a in CGNAT, "a shared (CGNAT) address"),
    (lambda a: a.is_reserved, "a reserved address"),
    (lambda a: a.is_private, "a private address"),
    (lambda a: not a.is_global, "not a public address"),
)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 one leads to (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return "an IPv4-mapped address of", address.ipv4_mapped
    if address.sixtofour is not None:
        return "a 6to4 address of", address.sixtofour
    if address.teredo is not None:
        return "a Teredo address of", address.teredo[1]
    if address in NAT64:
        return "a NAT64 address of", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def check_address(address: Address, allowed: Iterable[Network] = ()) -> Address:
    """``address``, or TargetRefusedError saying why not."""
    reason = refusal(address, allowed)
    if reason is not None:
        raise TargetRefusedError(f"{address} is {reason}")
    return address


def resolve(
    host: str, port: int, allowed: Iterable[Network] = (), resolver: Resolver | None = None
) -> list[Address]:
    """The addresses of ``host``, looked up once, each checked; TargetRefusedError if it has none or
    any of them is refused (a name that also leads inside is not sent to at all)."""
    allowed = tuple(allowed)
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        return [check_address(literal, allowed)]
    lookup = resolver or socket.getaddrinfo
    try:
        answers = lookup(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise TargetRefusedError(f"{host} could not be resolved: {exc}") from None
    addresses: list[Address] = []
    for family, *_rest, sockaddr in answers:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetRefusedError(f"{host} has no address")
    for address in addresses:
        reason = refusal(address, allowed)
        if reason is not None:
            raise TargetRefusedError(f"{host} resolves to {address}, {reason}")
    return addresses


# -- connections to checked addresses ------------------------------------------------------------

_POOLS_LOCK = threading.Lock()
_POOLS: dict[tuple[Any, ...], urllib3.HTTPConnectionPool] = {}
_POOLS_PID = os.getpid()
MAX_POOLS = 256  # distinct (address, port, name) kept open; the oldest closed first


def connection_pool(target: Target, address: Address) -> urllib3.HTTPConnectionPool:
    """A pool of keep-alive connections to ``address`` (already checked) for ``target``:
    TLS verifies the certificate against the target's host name, sent as SNI.  Pools are kept
    per process (a forked worker starts with none: sockets are not shared across a fork)."""
    global _POOLS_PID
    key = (target.scheme, str(address), target.port, target.host)
    with _POOLS_LOCK:
        if os.getpid() != _POOLS_PID:
            _POOLS.clear()
            _POOLS_PID = os.getpid()
        pool = _POOLS.get(key)
        if pool is None:
            pool = _new_pool(target, address)
            if len(_POOLS) >= MAX_POOLS:
                _POOLS.pop(next(iter(_POOLS))).close()
            _POOLS[key] = pool
        return pool


def _new_pool(target: Target, address: Address) -> urllib3.HTTPConnectionPool:
    common: dict[str, Any] = {"maxsize": 8, "block": False, "retries": False}
    if target.scheme == "http":
        return urllib3.HTTPConnectionPool(str(address), target.port, **common)
    named = _is_name(target.host)
    return urllib3.HTTPSConnectionPool(
        str(address),
        target.port,
        cert_reqs="CERT_REQUIRED",
        # The certificate must name the host of the URL, not the address connected to.
        server_hostname=target.host if named else None,
        assert_hostname=target.host,
        **common,
    )


def _is_name(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


def close_pools() -> None:
    """Close every kept connection (tests; a process shutting down)."""
    with _POOLS_LOCK:
        while _POOLS:
            _POOLS.popitem()[1].close()
