"""The plugin's settings, ``benben.webhooks.*``, and their parsed form.

Every setting of the plugin is declared here, the delivery side's included (it reads them from
:class:`WebhooksSettings`, kept on the registry by ``includeme``), so that ``benben config``
lists them all and a bad value stops start-up.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from benben.plugin import Registry, Setting, as_bool, as_float, as_int

__all__ = ["PREFIX", "SETTINGS", "SETTINGS_KEY", "WebhooksSettings", "as_networks", "get_settings"]

PREFIX = "benben.webhooks."
SETTINGS_KEY = "benben_webhooks.settings"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def as_networks(value: Any) -> tuple[str, ...]:
    """CIDRs (``127.0.0.0/8 ::1/128``), each checked; host bits set are refused, since
    ``10.0.0.1/8`` is more likely a typo than a wish to allow the whole /8."""
    words = value if isinstance(value, list | tuple) else str(value).replace(",", " ").split()
    networks = []
    for word in (str(w).strip() for w in words):
        if not word:
            continue
        try:
            networks.append(str(ipaddress.ip_network(word, strict=True)))
        except ValueError as exc:
            raise ValueError(f"{word!r} is not a network in CIDR notation ({exc})") from None
    return tuple(networks)


as_networks.__name__ = "list"

SETTINGS = (
    Setting(
        "benben.webhooks.allowed_networks",
        as_networks,
        (),
        "Networks (CIDRs, separated by spaces or commas) webhooks may be sent to although they "
        "are loopback, private, link-local or otherwise internal; every other such address is "
        "refused when the target is resolved (SSRF guard). Plain `http://` URLs are accepted "
        "for IP addresses in these networks. Empty: public addresses only.",
    ),
    Setting(
        "benben.webhooks.allow_http",
        as_bool,
        False,
        "Accept plain `http://` endpoint URLs anywhere. Off: `https://` only, except for IP "
        "addresses in `benben.webhooks.allowed_networks`.",
    ),
    Setting(
        "benben.webhooks.timeout",
        as_float(0.5, 120),
        15.0,
        "Seconds an attempt may take (connecting, sending, reading the answer) before it "
        "counts as failed and is retried.",
    ),
    Setting(
        "benben.webhooks.max_payload_bytes",
        as_int(1024, 16 * 1024 * 1024),
        262144,
        "Largest body sent; a bigger event is sent thin (its ids only, `truncated: true`).",
    ),
    Setting(
        "benben.webhooks.response_log_bytes",
        as_int(0, 65536),
        2048,
        "Bytes of each response body kept in the delivery log.",
    ),
    Setting(
        "benben.webhooks.disable_after_hours",
        as_float(1, 24 * 90),
        120.0,
        "An endpoint whose deliveries have failed without a success for this long is disabled "
        "(event `webhook.disabled`); re-enabling it clears the failure.",
    ),
    Setting(
        "benben.webhooks.secret_overlap_hours",
        as_float(0, 24 * 30),
        24.0,
        "After a secret rotation, hours during which the previous secret still signs, next to "
        "the new one, so that receivers can switch without losing a delivery.",
    ),
    Setting(
        "benben.webhooks.max_in_flight",
        as_int(1, 100),
        4,
        "Default for an endpoint's `max_in_flight`: its deliveries being sent at once, at most, "
        "so that one slow receiver cannot hold every worker.",
    ),
)

DEFAULTS = {setting.name[len(PREFIX) :]: setting.default for setting in SETTINGS}


@dataclass(frozen=True)
class WebhooksSettings:
    """The parsed ``benben.webhooks.*`` settings, as ``plugin_settings`` gives them."""

    allowed_networks: tuple[str, ...]
    allow_http: bool
    timeout: float
    max_payload_bytes: int
    response_log_bytes: int
    disable_after_hours: float
    secret_overlap_hours: float
    max_in_flight: int

    @classmethod
    def from_settings(cls, values: Mapping[str, Any]) -> WebhooksSettings:
        """From ``plugin_settings(config)``; what is missing takes its default."""
        known = {field.name for field in fields(cls)}
        given = {key: value for key, value in values.items() if key in known}
        merged = {**DEFAULTS, **given}
        # Values set directly in a settings mapping (tests) may not have been parsed yet.
        merged["allowed_networks"] = as_networks(merged["allowed_networks"])
        return cls(**merged)

    def networks(self) -> tuple[Network, ...]:
        """``allowed_networks`` as ipaddress networks."""
        return tuple(ipaddress.ip_network(text) for text in self.allowed_networks)


def get_settings(registry: Registry) -> WebhooksSettings:
    """The plugin's settings of this app (set by ``includeme``)."""
    settings: WebhooksSettings = registry[SETTINGS_KEY]
    return settings
