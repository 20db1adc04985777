"""``benben plugins``: every installed plugin, whether it runs, and why not.

Start-up stops at the first broken plugin; this command is what operators run then, so it never
stops: each problem is reported against the plugin it belongs to and the listing goes on.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyramid.exceptions import ConfigurationError

from benben.cli.common import EXIT_FAILURE, add_ini_argument, one_line, read_app_settings
from benben.plugins.metadata import PluginInfo

NAME = "plugins"
_NAMED_PLUGIN = re.compile(r"\Aplugin '([^']+)'")
_PLUGIN_SETTING = re.compile(r"\bsetting benben\.([a-z][a-z0-9_]*)\.")


@dataclass
class PluginReport:
    plugins: list[PluginInfo] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # not tied to one plugin (the settings)
    broken: set[str] = field(default_factory=set)  # plugins that would stop start-up
    registrations: dict[str, dict[str, Any]] = field(default_factory=dict)  # enabled plugins
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why

    @property
    def ok(self) -> bool:
        return not self.problems and not self.broken


def register(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="list installed plugins: enabled, disabled or broken, and why",
        description="List the installed plugins (entry point group benben.plugins) with version, "
        "distribution, status (enabled, disabled, error) and the reason. Works when a plugin is "
        f"broken; exits {EXIT_FAILURE} if a plugin that should be enabled cannot be.",
    )
    add_ini_argument(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    report = inspect_plugins(read_app_settings(args.ini), os.environ)
    if args.json:
        print(json.dumps(report_json(report), indent=2))
    else:
        print_table(report)
    return 0 if report.ok else EXIT_FAILURE


def inspect_plugins(
    raw: Mapping[str, Any],
    environ: Mapping[str, str],
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
) -> PluginReport:
    """Discover, select and order plugins as start-up does, recording each failure instead."""
    from benben.plugins import discover_plugins, order_plugins, select_plugins
    from benben.version import __version__

    report = PluginReport(plugins=discover_plugins(entry_points))
    enabled_names, disabled_names = _plugin_settings(raw, environ)

    # Selection raises at the first broken plugin; let it select them all, then restore errors.
    discovery_errors = {id(p): p.reason for p in report.plugins if p.status == "error"}
    for plugin in report.plugins:
        if id(plugin) in discovery_errors:
            plugin.status = "discovered"
    try:
        selected = select_plugins(report.plugins, enabled_names, disabled_names)
    except ConfigurationError as exc:  # a name in the settings that is not installed
        report.problems.append(one_line(exc))
        installed = {p.name for p in report.plugins}
        enabled_names = [n for n in enabled_names if n == "all" or n in installed]
        disabled_names = [n for n in disabled_names if n in installed]
        selected = select_plugins(report.plugins, enabled_names, disabled_names)
    for plugin in report.plugins:
        error = discovery_errors.get(id(plugin))
        if error is None:
            continue
        if plugin.status == "enabled":
            plugin.status, plugin.reason = "error", error
            report.broken.add(plugin.name)
        else:
            plugin.reason += f" (and broken: {error})"
    candidates = [p for p in selected if p.status == "enabled"]

    # Ordering raises at the first plugin whose requirements fail: mark it and order the rest.
    while candidates:
        try:
            order_plugins(candidates, report.plugins, __version__)
            break
        except ConfigurationError as exc:
            culprit = _culprit(exc, candidates)
            if culprit is None:
                report.problems.append(one_line(exc))
                break
            culprit.status, culprit.reason = "error", one_line(exc)
            report.broken.add(culprit.name)
            candidates.remove(culprit)
    if candidates and report.ok:
        _include(report, raw, environ, entry_points)
    return report


def _include(
    report: PluginReport,
    raw: Mapping[str, Any],
    environ: Mapping[str, str],
    entry_points: Iterable[importlib.metadata.EntryPoint] | None,
) -> None:
    """Configure the app as start-up does, to catch a plugin whose settings are invalid or that
    fails while being included, and to see what each one registered."""
    from benben.config import configure, load_settings
    from benben.db import get_engine
    from benben.plugins import discover_plugins
    from benben.plugins.introspection import plugin_registrations

    enabled = [p for p in report.plugins if p.status == "enabled"]
    try:
        load_settings(raw, environ, discover_plugins(entry_points))
    except ConfigurationError as exc:
        culprit = _culprit_of_setting(exc, enabled)
        if culprit is None:  # core's settings: not a plugin's fault, `benben config` shows it
            report.notes.append(f"plugins not included: {one_line(exc)} (see benben config)")
        else:
            culprit.status, culprit.reason = "error", one_line(exc)
            report.broken.add(culprit.name)
        return
    try:
        registry = configure(raw, environ=environ, entry_points=entry_points).registry
    except ConfigurationError as exc:  # including or committing the plugins failed
        culprit = _culprit(exc, enabled)
        if culprit is None:  # e.g. two plugins claiming the same route
            report.problems.append(one_line(exc))
        else:
            culprit.status, culprit.reason = "error", one_line(exc)
            report.broken.add(culprit.name)
        return
    get_engine(registry).dispose()
    for plugin in enabled:
        # What it declares and everything it registered, with the source of each registration.
        report.registrations[plugin.name] = plugin_registrations(registry, plugin.name)


def _plugin_settings(
    raw: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """Only the two settings that select plugins: a bad value elsewhere must not hide the list."""
    from benben.core_settings import CORE_SETTINGS
    from benben.settings import resolve_settings

    wanted = [s for s in CORE_SETTINGS if s.name in {"benben.plugins", "benben.plugins.disabled"}]
    values = resolve_settings(raw, environ, wanted).values
    return list(values["benben.plugins"]), list(values["benben.plugins.disabled"])


def _culprit_of_setting(exc: ConfigurationError, candidates: list[PluginInfo]) -> PluginInfo | None:
    """``invalid value ... for setting benben.<plugin>.<key>`` -> that plugin."""
    match = _PLUGIN_SETTING.search(str(exc))
    return next((p for p in candidates if match and p.name == match.group(1)), None)


def _culprit(exc: ConfigurationError, candidates: list[PluginInfo]) -> PluginInfo | None:
    match = _NAMED_PLUGIN.search(str(exc))
    return next((p for p in candidates if match and p.name == match.group(1)), None)


def plugin_json(plugin: PluginInfo, registrations: Mapping[str, Any] | None) -> dict[str, Any]:
    entry = {**plugin.as_json(), "reason": plugin.reason, "entry_point": plugin.entry_point}
    if plugin.status == "enabled":
        entry["route_prefix"] = plugin.route_prefix or "/"
        entry["settings_namespace"] = plugin.namespace + "*"
        entry["settings"] = [setting.name for setting in plugin.metadata.settings]
        entry["requires"] = list(plugin.metadata.requires)
        entry["registered"] = dict(registrations or {})
    return entry


def report_json(report: PluginReport) -> dict[str, Any]:
    return {
        "plugins": [plugin_json(p, report.registrations.get(p.name)) for p in report.plugins],
        "problems": report.problems,
        "notes": report.notes,
        "ok": report.ok,
    }


def print_table(report: PluginReport) -> None:
    if not report.plugins:
        print("no plugins installed (none in the entry point group benben.plugins)")
    else:
        rows = [("NAME", "VERSION", "DISTRIBUTION", "STATUS", "DETAILS")]
        for plugin in report.plugins:
            rows.append(
                (
                    plugin.name,
                    plugin.version,
                    plugin.distribution or "-",
                    plugin.status,
                    _details(plugin, report.registrations.get(plugin.name)),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
            print("  ".join([*cells, row[4]]).rstrip())
    for problem in report.problems:
        print(f"problem: {problem}")
    for note in report.notes:
        print(f"note: {note}")


def _details(plugin: PluginInfo, registrations: Mapping[str, Any] | None) -> str:
    if plugin.status != "enabled":
        return plugin.reason
    parts = [f"routes under {plugin.route_prefix or '/'}", f"settings {plugin.namespace}*"]
    if plugin.metadata.requires:
        parts.append("requires " + ", ".join(plugin.metadata.requires))
    if registrations:
        groups = registrations["registrations"]
        counts = [f"{len(items)} {group}" for group, items in groups.items() if items]
        parts.append("registered " + (", ".join(counts) or "nothing"))
    return "; ".join(parts)
