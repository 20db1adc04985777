"""Which limits apply: ``benben.ratelimit.default``, ``benben.ratelimit.groups``, and the
``config.set_ratelimit_group(route_name, group)`` directive that puts a route in a group."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import limits
from limits import RateLimitItem
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

__all__ = [
    "EXEMPTIONS_KEY",
    "GROUP_NAME",
    "LIMITS_KEY",
    "ROUTE_GROUPS_KEY",
    "RateLimits",
    "add_ratelimit_exemption",
    "parse_limits",
    "set_ratelimit_group",
]

LIMITS_KEY = "benben.ratelimit.limits"
ROUTE_GROUPS_KEY = "benben.ratelimit.route_groups"
# Prefixes of fixed files (the client, the console's assets: add_ratelimit_exemption), never
# counted, as /health/ is not: a page of the console loads dozens, and they cost nothing.
EXEMPTIONS_KEY = "benben.ratelimit.exemptions"
GROUP_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")


def parse_limits(value: str, setting: str) -> tuple[RateLimitItem, ...]:
    """``"30/minute"`` or ``"30/minute;500/hour"`` -> limit items, or a ConfigurationError."""
    try:
        items = tuple(limits.parse_many(value))
    except ValueError:
        items = ()
    if not items or any(item.amount < 1 for item in items):
        raise ConfigurationError(
            f"invalid value {value!r} for setting {setting}: expected a rate limit such as "
            "'30/minute' or '10/second;500/hour' (count/second|minute|hour|day)"
        )
    return items


@dataclass(frozen=True)
class RateLimits:
    enabled: bool
    default: tuple[RateLimitItem, ...]
    groups: Mapping[str, tuple[RateLimitItem, ...]]

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> RateLimits:
        default = parse_limits(
            str(settings["benben.ratelimit.default"]), "benben.ratelimit.default"
        )
        groups: dict[str, tuple[RateLimitItem, ...]] = {}
        for word in settings["benben.ratelimit.groups"]:
            name, sep, notation = str(word).partition("=")
            if not sep or not GROUP_NAME.fullmatch(name):
                raise ConfigurationError(
                    f"invalid entry {word!r} in setting benben.ratelimit.groups: expected "
                    "group=limit words such as 'auth=30/minute write=300/minute'"
                )
            groups[name] = parse_limits(notation, f"benben.ratelimit.groups ({name})")
        return cls(bool(settings["benben.ratelimit.enabled"]), default, groups)


def set_ratelimit_group(config: Configurator, route_name: str, group: str) -> None:
    """Directive: requests matching route ``route_name`` count against ``group``'s limit
    (``benben.ratelimit.groups``) instead of the default.  A group the operator did not configure
    falls back to the default limit.  Two different assignments of one route conflict."""
    if not isinstance(group, str) or not GROUP_NAME.fullmatch(group):
        raise ConfigurationError(
            f"set_ratelimit_group({route_name!r}, {group!r}): a group name is lowercase letters, "
            "digits, '_', '-' or '.', starting with a letter"
        )
    route_groups: dict[str, str] = config.registry[ROUTE_GROUPS_KEY]

    def register() -> None:
        route_groups[route_name] = group

    intr = config.introspectable("ratelimit groups", route_name, f"{route_name} -> {group}",
                                 "ratelimit group")  # fmt: skip
    intr["route_name"] = route_name
    intr["group"] = group
    config.action(("benben.ratelimit.group", route_name), register, introspectables=(intr,))


def add_ratelimit_exemption(config: Configurator, path_prefix: str) -> None:
    """Directive: requests whose path starts with ``path_prefix`` (``/admin/static/``) are never
    counted: fixed files (scripts, styles, fonts) that a page loads by the dozen."""
    if not isinstance(path_prefix, str) or not re.fullmatch(r"/[A-Za-z0-9._~/-]*/", path_prefix):
        raise ConfigurationError(
            f"add_ratelimit_exemption({path_prefix!r}): a path prefix starting and ending with /"
        )
    if path_prefix == "/":
        raise ConfigurationError("add_ratelimit_exemption('/') would exempt every request")
    registry = config.registry

    def register() -> None:
        registry[EXEMPTIONS_KEY] = (*registry.get(EXEMPTIONS_KEY, ()), path_prefix)

    intr = config.introspectable(
        "benben ratelimit exemptions", path_prefix, path_prefix, "ratelimit exemption"
    )
    intr["path_prefix"] = path_prefix
    config.action(("benben.ratelimit.exemption", path_prefix), register, introspectables=(intr,))
