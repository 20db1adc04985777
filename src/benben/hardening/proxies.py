"""``X-Forwarded-For``/``-Proto``/``-Host``, believed only from ``benben.security.trusted_proxies``.

Runs directly under the observability tween, before rate limits and anything that reads
``request.client_addr``.  It rewrites the WSGI environ once per request (retried attempts reuse
it):

- the direct peer (``REMOTE_ADDR``) is a trusted proxy: the client is the rightmost address of
  ``X-Forwarded-For`` that is not itself a trusted proxy (everything left of it was written by
  the client and proves nothing); ``REMOTE_ADDR``, ``wsgi.url_scheme`` and ``HTTP_HOST`` are set
  from the headers.  The original peer stays in ``environ["benben.proxies.peer"]``.
- otherwise the headers are ignored entirely.

Either way the ``X-Forwarded-*`` headers are then removed from the environ: WebOb's
``client_addr`` believes ``X-Forwarded-For`` from anyone, and nothing below must see a client's
forgery.  ``Forwarded`` (RFC 7239) is not honoured and removed too.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response

__all__ = ["TrustedProxies", "apply_forwarded", "proxies_tween_factory"]

TRUSTED_KEY = "benben.security.trusted_proxies"
APPLIED_ENVIRON_KEY = "benben.proxies.applied"
PEER_ENVIRON_KEY = "benben.proxies.peer"
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                     "HTTP_FORWARDED")  # fmt: skip
SCHEMES = frozenset({"http", "https"})
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
                   r"(?::[0-9]{1,5})?")  # fmt: skip

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Handler = Callable[[Request], Response]


def parse_address(text: str) -> Address | None:
    """An IP address from a forwarded entry (``1.2.3.4``, ``1.2.3.4:567``, ``[::1]:80``)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # IPv4 with a port; bare IPv6 has several colons
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    def __init__(self, networks: Sequence[Network]) -> None:
        self.networks = tuple(networks)

    @classmethod
    def from_setting(cls, entries: Iterable[str]) -> TrustedProxies:
        networks = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ConfigurationError(
                    f"invalid entry {entry!r} in setting benben.security.trusted_proxies: "
                    "expected IP addresses or networks in CIDR notation, such as "
                    "'10.0.0.0/8 192.168.1.10 fd00::/8'"
                ) from None
        return cls(networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)


def _values(environ: dict[str, Any], key: str) -> list[str]:
    return [part.strip() for part in environ.get(key, "").split(",") if part.strip()]


def _resolve_client(trusted: TrustedProxies, chain: list[str]) -> tuple[str | None, int]:
    """``(client, hops)``: the rightmost untrusted address and how many trusted proxies relayed
    it (the peer included), or ``(None, 0)`` when the chain names no usable address."""
    client: str | None = None
    hops = 1  # the peer
    for entry in reversed(chain):
        address = parse_address(entry)
        if address is None:
            # Garbage can only come from the client's part of the chain: stop at the last hop.
            break
        client = str(address)
        if not trusted.trusts(address):
            return client, hops
        hops += 1
    return client, hops - 1 if client is not None else 0


def _hop_value(values: list[str], hops: int) -> str | None:
    """The value the first trusted proxy appended: ``hops`` proxies appended one each, so it is
    ``hops`` from the right; with fewer entries the proxies overwrote, and the first is theirs."""
    if not values:
        return None
    if len(values) >= hops:
        return values[len(values) - hops]
    return values[0]


def apply_forwarded(environ: dict[str, Any], trusted: TrustedProxies) -> None:
    """Rewrite ``environ`` as described in the module docstring; idempotent."""
    if environ.get(APPLIED_ENVIRON_KEY):
        return
    environ[APPLIED_ENVIRON_KEY] = True
    peer = environ.get("REMOTE_ADDR")
    if trusted and trusted.trusts(parse_address(peer or "")):
        environ[PEER_ENVIRON_KEY] = peer
        client, hops = _resolve_client(trusted, _values(environ, "HTTP_X_FORWARDED_FOR"))
        if client is not None:
            environ["REMOTE_ADDR"] = client
        hops = max(hops, 1)  # without a usable chain, the peer's own headers
        scheme = _hop_value(_values(environ, "HTTP_X_FORWARDED_PROTO"), hops)
        if scheme and scheme.lower() in SCHEMES:
            environ["wsgi.url_scheme"] = scheme.lower()
        host = _hop_value(_values(environ, "HTTP_X_FORWARDED_HOST"), hops)
        if host and _HOST.fullmatch(host):
            environ["HTTP_HOST"] = host
    for key in FORWARDED_HEADERS:
        environ.pop(key, None)


def proxies_tween_factory(handler: Handler, registry: Registry) -> Handler:
    trusted: TrustedProxies = registry[TRUSTED_KEY]

    def proxies_tween(request: Request) -> Response:
        apply_forwarded(request.environ, trusted)
        return handler(request)

    return proxies_tween


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    config.registry[TRUSTED_KEY] = TrustedProxies.from_setting(
        settings["benben.security.trusted_proxies"]
    )
    config.add_tween(
        "benben.hardening.proxies.proxies_tween_factory",
        under="benben.observability.tweens.observability_tween_factory",
        over="pyramid_tm.tm_tween_factory",
    )
