"""What each plugin registered, from Pyramid's introspector, with the file and line of each call.

The loader records which configuration actions each plugin's include added
(:func:`record_plugin_actions`); once they are committed, every introspectable of those actions
is the plugin's.  :func:`plugin_registrations` turns them into the report that
``benben plugins --json``, ``GET /api/v1/plugins`` and ``BENBEN_TRACE_PLUGINS=1`` show.
Attributing by action rather than by file is exact: a plugin calling a helper of another package
still owns what the helper registers.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyramid.exceptions import ConfigurationError

from benben.plugins.installed import installed_plugins
from benben.plugins.kinds import GROUPS, entry_for, summary
from benben.plugins.metadata import PluginInfo
from benben.plugins.registrations import plugin_of_file
from benben.settings import as_bool

__all__ = [
    "TRACE_VARIABLE",
    "plugin_registrations",
    "record_plugin_actions",
    "settings_report",
    "trace_registrations",
]

log = logging.getLogger("benben.plugins")

TRACE_VARIABLE = "BENBEN_TRACE_PLUGINS"
COMMANDS_GROUP = "benben.commands"
_KEY = "benben.plugins.introspection"


@dataclass
class _Recorded:
    """What the loader saw: each plugin's actions, and where the plugins' commit began."""

    actions: dict[str, list[dict[str, Any]]]
    first_order: int  # introspectables registered from here on came from the plugins' commit
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # built once, on demand


def introspector_position(registry: Any) -> int:
    """The order the next introspectable registered will get (everything before is core's)."""
    orders = (
        item["introspectable"].order
        for _, items in registry.introspector.categorized()
        for item in items
    )
    return max(orders, default=-1) + 1


def record_plugin_actions(
    registry: Any, actions: Mapping[str, Sequence[dict[str, Any]]], first_order: int
) -> None:
    """Keep each plugin's configuration actions (a copy of the slice its include added)."""
    registry[_KEY] = _Recorded({name: list(found) for name, found in actions.items()}, first_order)


def plugin_registrations(registry: Any, name: str) -> dict[str, Any]:
    """Everything the enabled plugin ``name`` registered, by kind, each with its source
    (``path:line``), plus what it declares (version, requirements, settings, commands).

    ``KeyError`` when no enabled plugin has that name."""
    recorded: _Recorded | None = registry.get(_KEY)
    plugin = next(
        (p for p in installed_plugins(registry) if p.name == name and p.status == "enabled"), None
    )
    if plugin is None or recorded is None:
        raise KeyError(name)
    if name not in recorded.reports:
        recorded.reports[name] = _report(registry, recorded, plugin)
    return recorded.reports[name]


def _report(registry: Any, recorded: _Recorded, plugin: PluginInfo) -> dict[str, Any]:
    plugins = [p for p in installed_plugins(registry) if p.status == "enabled"]
    introspectables = [
        (intrs, intr)
        for action in recorded.actions.get(plugin.name, ())
        for intrs in [tuple(action.get("introspectables") or ())]
        for intr in intrs
    ]
    introspectables.extend(((intr,), intr) for intr in _late(registry, recorded, plugin, plugins))
    groups: dict[str, list[dict[str, Any]]] = {group: [] for group in GROUPS}
    permissions: set[str] = set()
    for siblings, intr in introspectables:
        info = getattr(intr, "action_info", None)
        if info is None:  # never registered: the action was overridden within the plugin
            continue
        entry = entry_for(intr, siblings)
        if entry is None:
            continue
        group, item = entry
        if group == "permissions":
            if item["name"] in permissions:
                continue  # listed once, where it is first used
            permissions.add(item["name"])
        item["source"] = source_of(info, plugin)
        if group == "migrations":
            item["details"]["location"] = relative_path(item["details"]["location"], plugin)
        groups[group].append(item)
    _complete_routes(groups)
    return {
        "name": plugin.name,
        "version": plugin.version,
        "distribution": plugin.distribution,
        "api": plugin.metadata.api,
        "requires": list(plugin.metadata.requires),
        "route_prefix": plugin.route_prefix or "/",
        "settings": settings_report(plugin),
        "commands": _commands(plugin, plugins),
        "registrations": groups,
    }


def _late(
    registry: Any, recorded: _Recorded, plugin: PluginInfo, plugins: Sequence[PluginInfo]
) -> Iterable[Any]:
    """Introspectables registered during the plugins' commit by no plugin's include (an action
    adding actions): attributed by the file they were registered from."""
    known = {
        id(intr)
        for actions in recorded.actions.values()
        for action in actions
        for intr in action.get("introspectables") or ()
    }
    for _, items in registry.introspector.categorized():
        for item in items:
            intr = item["introspectable"]
            if intr.order < recorded.first_order or id(intr) in known:
                continue
            culprit = plugin_of_file(getattr(intr.action_info, "file", "") or "", plugins)
            if culprit is plugin:
                yield intr


def _complete_routes(groups: dict[str, list[dict[str, Any]]]) -> None:
    """A route's methods are those of its views (a route itself rarely restricts them)."""
    methods: dict[str, set[str]] = {}
    for view in groups["views"]:
        route = view["details"].get("route")
        if route:
            methods.setdefault(route, set()).update(view["details"]["methods"] or ["*"])
    for route in groups["routes"]:
        found = set(route["details"]["methods"] or ()) | methods.get(route["name"], set())
        route["details"]["methods"] = sorted(found)


def source_of(info: Any, plugin: PluginInfo) -> str:
    """``path:line`` of a registration, the path relative to the directory holding the plugin's
    package (``benben_files/api_downloads.py``) when it is inside, absolute otherwise."""
    return f"{relative_path(getattr(info, 'file', '') or '?', plugin)}:{getattr(info, 'line', 0)}"


def relative_path(path: str, plugin: PluginInfo) -> str:
    """``path`` relative to the directory holding the plugin's package when inside it."""
    path = os.path.abspath(path)
    root = os.path.dirname(plugin.location) if plugin.location else None
    if root and path.startswith(root + os.sep):
        return os.path.relpath(path, root)
    return path


def settings_report(plugin: PluginInfo) -> list[dict[str, Any]]:
    """The plugin's declared settings: name, environment variable, default (never a secret's),
    help."""
    return [
        {
            "name": setting.name,
            "env": setting.env,
            "default": None if setting.secret else _json_value(setting.default),
            "secret": setting.secret,
            "help": setting.help,
        }
        for setting in plugin.metadata.settings
    ]


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    return str(value)


def _commands(plugin: PluginInfo, plugins: Sequence[PluginInfo]) -> list[dict[str, str]]:
    """Entry points in ``benben.commands`` of the plugin's distribution; when the distribution
    holds several plugins (Benben's own wheel), those in the plugin's package."""
    if not plugin.distribution:
        return []
    package = plugin.entry_point.split(":")[0].split(".")[0]
    shared = sum(p.distribution == plugin.distribution for p in plugins) > 1
    found = []
    for ep in importlib.metadata.entry_points(group=COMMANDS_GROUP):
        dist = ep.dist.name if ep.dist else None
        if dist != plugin.distribution:
            continue
        if shared and ep.value.split(":")[0].split(".")[0] != package:
            continue
        found.append({"name": ep.name, "entry_point": ep.value})
    return sorted(found, key=lambda command: command["name"])


def trace_registrations(registry: Any, environ: Mapping[str, str]) -> None:
    """With ``BENBEN_TRACE_PLUGINS=1``: one log line per registration of each enabled plugin."""
    value = environ.get(TRACE_VARIABLE, "")
    try:
        wanted = as_bool(value)
    except ValueError as exc:
        raise ConfigurationError(f"{TRACE_VARIABLE}={value!r}: {exc}") from None
    if not wanted:
        return
    for plugin in installed_plugins(registry):
        if plugin.status != "enabled":
            continue
        report = plugin_registrations(registry, plugin.name)
        for group in GROUPS:
            for entry in report["registrations"][group]:
                log.info("plugin %s: %s (%s)", plugin.name, summary(entry), entry["source"])
