"""Registrations of plugins against core's and each other's: who registered what, refusals of
core overrides, and conflict errors that name the plugins involved.

Core is committed before plugins are included, so Pyramid itself would let a plugin silently
replace a core registration (a route name, a view, a health check...): these checks refuse that.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationConflictError, ConfigurationError
from pyramid.registry import Deferred

from benben.plugins.metadata import PluginInfo

CORE_DISCRIMINATORS_KEY = "benben.core_discriminators"


def record_core_discriminators(config: Configurator) -> None:
    """Remember what core registers; call before core is committed.

    Deferred discriminators (views') are kept as they are: they can only be resolved once the
    commit has registered the predicates they use (Cornice's ``content_type``, say).
    """
    config.registry[CORE_DISCRIMINATORS_KEY] = [
        action["discriminator"]
        for action in config.action_state.actions
        if action["discriminator"] is not None
    ]


def refuse_core_overrides(
    config: Configurator, actions: Sequence[dict[str, Any]], plugins: Sequence[PluginInfo]
) -> None:
    """After the plugins' commit, when every discriminator resolves: fail if any is core's.

    Start-up stops here, so the replaced registration never serves.
    """
    core = {_resolve(d) for d in config.registry.get(CORE_DISCRIMINATORS_KEY, ())}
    for action in actions:
        discriminator = action["discriminator"]
        if discriminator is None:
            continue
        resolved = _resolve(discriminator)
        if resolved in core:
            info = action["info"]
            culprit = plugin_of_file(getattr(info, "file", ""), plugins)
            who = f"plugin {culprit.name!r}" if culprit else "a plugin"
            raise ConfigurationError(
                f"{who} tries to replace core's {describe_discriminator(resolved)} "
                f"(at {getattr(info, 'file', '?')}:{getattr(info, 'line', '?')})"
            )


class PluginConflictError(ConfigurationConflictError):
    """Pyramid's conflict error, opening with which plugins claim what."""

    def __init__(self, conflicts: dict[Any, list[Any]], plugins: Sequence[PluginInfo]) -> None:
        super().__init__(conflicts)
        self.summary = _summarise_conflicts(conflicts, plugins)

    def __str__(self) -> str:
        return "\n".join([*self.summary, super().__str__()])


def _summarise_conflicts(
    conflicts: dict[Any, list[Any]], plugins: Sequence[PluginInfo]
) -> list[str]:
    lines: list[str] = []
    for discriminator, infos in conflicts.items():
        owners = sorted(
            {
                culprit.name if culprit else "an unknown plugin"
                for culprit in (plugin_of_file(getattr(i, "file", ""), plugins) for i in infos)
            }
        )
        what = describe_discriminator(_resolve(discriminator))
        if len(owners) == 1:
            line = f"plugin {owners[0]!r} registers the same {what} more than once"
        else:
            names = ", ".join(repr(name) for name in owners[:-1]) + f" and {owners[-1]!r}"
            line = f"plugins {names} register the same {what}"
        if line not in lines:  # a route is two actions: its name and its connection
            lines.append(line)
    return lines


def describe_discriminator(discriminator: Any) -> str:
    """What a Pyramid action discriminator registers, in words (``route name 'x'``)."""
    kinds = {
        "route": "route name",
        "route-connect": "route name",
        "benben-health-check": "health check",
        "benben-capability": "API capability",
        "benben-migrations": "migrations of",
        "request extensions": "request method",
    }
    if isinstance(discriminator, tuple) and len(discriminator) == 2:
        kind, name = discriminator
        if kind in kinds:
            return f"{kinds[kind]} {name!r}"
    if isinstance(discriminator, tuple) and len(discriminator) == 5 and discriminator[0] == "view":
        _, context, name, route_name, _ = discriminator
        where = f"route {route_name!r}" if route_name else f"context {context!r}"
        return f"view{f' {name!r}' if name else ''} for {where}"
    return f"registration {discriminator!r}"


def _resolve(discriminator: Any) -> Any:
    return discriminator.resolve() if isinstance(discriminator, Deferred) else discriminator


def plugin_of_file(path: str, plugins: Sequence[PluginInfo]) -> PluginInfo | None:
    """The plugin a source file belongs to: the most specific match wins, so that of two plugins
    sharing a distribution's package, the one whose own module it is gets named."""
    if not path:
        return None
    path = os.path.abspath(path)
    best: tuple[int, PluginInfo] | None = None
    for plugin in plugins:
        for root in (_module_location(plugin.target), plugin.location):
            if not root or not (path == root or path.startswith(root + os.sep)):
                continue
            if best is None or len(root) > best[0]:
                best = (len(root), plugin)
    return best[1] if best else None


def _module_location(target: Any) -> str | None:
    """The file of the module the entry point names, or its directory if it is a package."""
    module = target if inspect.ismodule(target) else inspect.getmodule(target)
    path = getattr(module, "__file__", None)
    if not path:
        return None
    path = os.path.abspath(path)
    return os.path.dirname(path) if hasattr(module, "__path__") else path


def plugin_of_error(exc: Exception, plugins: Sequence[PluginInfo]) -> PluginInfo | None:
    info = getattr(exc, "info", None)
    return plugin_of_file(getattr(info, "file", ""), plugins)


def plugin_of_unresolvable(
    actions: Sequence[dict[str, Any]], plugins: Sequence[PluginInfo]
) -> PluginInfo | None:
    """The plugin whose deferred discriminator fails: Pyramid raises those without an origin
    (an unknown view option, say)."""
    for action in actions:
        discriminator = action["discriminator"]
        if not isinstance(discriminator, Deferred):
            continue
        try:
            discriminator.resolve()
        except Exception:
            return plugin_of_file(getattr(action["info"], "file", ""), plugins)
    return None
