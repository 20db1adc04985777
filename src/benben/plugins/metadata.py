"""What Benben knows about a plugin: declared metadata plus what discovery found."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benben.settings import Setting

PLUGIN_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")

# Settings namespaces and URL prefixes that core owns now or will own; a plugin may not take them.
RESERVED_NAMES = frozenset(
    {
        "accounts", "admin", "api", "auth", "batch", "cache", "collections", "core", "cors",
        "data", "database", "environment", "groups", "health", "jwt", "logging", "metrics",
        "openapi", "plugins", "public_url", "ratelimit", "records", "secret", "data_dir",
        "security", "static", "test", "tokens", "tracing", "users", "version", "worker",
    }
)  # fmt: skip


@dataclass(frozen=True)
class PluginMetadata:
    """Optional declaration a plugin module makes as ``benben_plugin = PluginMetadata(...)``.

    - ``api``: the plugin API level the plugin was written for (``benben.plugin.PLUGIN_API_LEVEL``
      when it was written); a core that does not run that level refuses the plugin by name.
    - ``name``: defaults to the entry point's name.
    - ``requires``: other plugins this one needs, each a name with an optional version
      specifier (``"search>=1.2"``); they are included first.
    - ``core``: the Benben versions supported, a PEP 440 specifier (``">=0.1,<1"``).
    - ``route_prefix``: where the plugin's routes live; defaults to ``/<name>``.
    - ``settings``: the plugin's settings, all named ``benben.<name>.*``; declared ones are
      parsed, validated, overridable from ``BENBEN_*`` and listed by ``benben config``.
    """

    api: int | None = None
    name: str | None = None
    requires: Sequence[str] = ()
    core: str | None = None
    route_prefix: str | None = None
    settings: Sequence[Setting] = ()
    description: str = ""


@dataclass
class PluginInfo:
    """A discovered plugin, enabled or not, and why."""

    name: str
    entry_point: str
    distribution: str | None
    version: str
    metadata: PluginMetadata = field(default_factory=PluginMetadata)
    target: Any = None
    status: str = "discovered"  # enabled | disabled | error
    reason: str = ""
    location: str | None = None  # directory of the plugin's top-level package

    @property
    def namespace(self) -> str:
        return f"benben.{self.name}."

    @property
    def route_prefix(self) -> str:
        prefix = self.metadata.route_prefix
        return f"/{self.name}" if prefix is None else prefix

    @property
    def version_table(self) -> str:
        return f"benben_version_{self.name}"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "distribution": self.distribution,
            "status": self.status,
            "url": self.route_prefix or "/",
            "description": self.metadata.description,
        }
