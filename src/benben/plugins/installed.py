"""Which plugins an app has, kept on its registry: every plugin found (with its status), and the
one whose ``includeme`` is running.  The only module that reads or writes these entries."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from benben.plugins.metadata import PluginInfo

__all__ = [
    "being_included",
    "enabled_plugins",
    "including_plugin",
    "installed_plugins",
    "record_installed",
]

_INSTALLED_KEY = "benben.plugins"
_STACK_KEY = "benben.plugin_stack"


def record_installed(registry: Any, plugins: Sequence[PluginInfo]) -> None:
    """Every plugin found at start-up, enabled or not (their status says which and why)."""
    registry[_INSTALLED_KEY] = list(plugins)


def installed_plugins(registry: Any) -> list[PluginInfo]:
    """Every plugin found at start-up, with its status (``enabled``, ``disabled``, ``error``...)."""
    return list(registry.get(_INSTALLED_KEY) or ())


def enabled_plugins(registry: Any) -> list[PluginInfo]:
    """The plugins this app runs (name, version, distribution, metadata), by name."""
    return [p for p in registry.get(_INSTALLED_KEY) or () if p.status == "enabled"]


def including_plugin(registry: Any) -> PluginInfo | None:
    """The plugin whose ``includeme`` is running; None while core configures itself."""
    stack: list[PluginInfo] = registry.get(_STACK_KEY) or []
    return stack[-1] if stack else None


@contextmanager
def being_included(registry: Any, plugin: PluginInfo) -> Iterator[None]:
    """While the block runs, :func:`including_plugin` answers ``plugin`` (nested includes of
    plugins restore the outer one)."""
    stack: list[PluginInfo] = registry.setdefault(_STACK_KEY, [])
    stack.append(plugin)
    try:
        yield
    finally:
        stack.pop()
