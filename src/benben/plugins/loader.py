"""Find plugins by entry point, decide which run, order them by their requirements, include them.

Every failure stops start-up with a ConfigurationError naming the plugin and the cause: an app
that is half loaded never serves.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationConflictError, ConfigurationError

from benben.plugins.compat import api_level_problem
from benben.plugins.installed import being_included
from benben.plugins.introspection import (
    introspector_position,
    record_plugin_actions,
    trace_registrations,
)
from benben.plugins.metadata import PLUGIN_NAME, RESERVED_NAMES, PluginInfo, PluginMetadata
from benben.plugins.registrations import (
    PluginConflictError,
    plugin_of_error,
    plugin_of_unresolvable,
    refuse_core_overrides,
)
from benben.settings import Setting
from benben.version import __version__

ENTRY_POINT_GROUP = "benben.plugins"


def discover_plugins(
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
) -> list[PluginInfo]:
    """Load every ``benben.plugins`` entry point; a broken one is returned with status ``error``."""
    if entry_points is None:
        entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    plugins: list[PluginInfo] = []
    for ep in sorted(entry_points, key=lambda e: e.name):
        dist = ep.dist
        info = PluginInfo(
            name=ep.name,
            entry_point=ep.value,
            distribution=dist.name if dist else None,
            version=dist.version if dist else "0",
        )
        try:
            target = ep.load()
        except Exception as exc:
            info.status, info.reason = "error", f"cannot import {ep.value}: {_describe(exc)}"
            plugins.append(info)
            continue
        info.target = target
        metadata = _find_metadata(target)
        if not isinstance(metadata, PluginMetadata):
            info.status = "error"
            info.reason = f"benben_plugin in {ep.value} is not a benben.plugin.PluginMetadata"
            plugins.append(info)
            continue
        info.metadata = metadata
        info.name = metadata.name or ep.name
        info.location = _package_location(target)
        problem = (
            _check_target(ep.value, target)
            or _check_declaration(info)
            or api_level_problem(info, __version__)
        )
        if problem:
            info.status, info.reason = "error", problem
        plugins.append(info)
    plugins.sort(key=lambda p: (p.name, p.entry_point))
    _mark_namesakes(plugins)
    return plugins


def select_plugins(
    plugins: Sequence[PluginInfo], enabled: Sequence[str], disabled: Sequence[str]
) -> list[PluginInfo]:
    """Mark each plugin enabled or disabled from the settings; return the enabled ones."""
    by_name = {p.name: p for p in plugins}
    wanted_all = "all" in enabled
    for name in [*enabled, *disabled]:
        if name != "all" and name not in by_name:
            setting = "benben.plugins" if name in enabled else "benben.plugins.disabled"
            installed = ", ".join(sorted(by_name)) or "none"
            raise ConfigurationError(
                f"plugin {name!r} named in {setting} is not installed (installed: {installed})"
            )
    selected = []
    for plugin in plugins:
        if plugin.name in disabled:
            plugin.status, plugin.reason = "disabled", "listed in benben.plugins.disabled"
        elif not wanted_all and plugin.name not in enabled:
            plugin.status, plugin.reason = "disabled", "not listed in benben.plugins"
        elif plugin.status == "error":
            raise ConfigurationError(f"plugin {plugin.name!r}: {plugin.reason}")
        else:
            plugin.status, plugin.reason = "enabled", ""
            selected.append(plugin)
    return selected


def order_plugins(
    enabled: Sequence[PluginInfo], everyone: Sequence[PluginInfo], core_version: str
) -> list[PluginInfo]:
    """Check core compatibility and requirements; return plugins so that requirements come first."""
    by_name = {p.name: p for p in enabled}
    installed = {p.name: p for p in everyone}
    requirements: dict[str, list[str]] = {}
    for plugin in enabled:
        _check_core(plugin, core_version)
        requirements[plugin.name] = []
        for text in plugin.metadata.requires:
            req = Requirement(text)  # validated at discovery
            name = req.name.replace("-", "_").lower()
            if name not in by_name:
                why = (
                    f"which is disabled ({installed[name].reason})"
                    if name in installed
                    else "which is not installed"
                )
                raise ConfigurationError(f"plugin {plugin.name!r} requires {name!r}, {why}")
            version = by_name[name].version
            if req.specifier and not req.specifier.contains(version, prereleases=True):
                raise ConfigurationError(
                    f"plugin {plugin.name!r} requires {text!r}, but {name} {version} is installed"
                )
            requirements[plugin.name].append(name)

    ordered: list[PluginInfo] = []
    state: dict[str, str] = {}  # visiting | done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = [*path[path.index(name) :], name]
            raise ConfigurationError(
                f"plugin {name!r} is in a requirement cycle: {' -> '.join(cycle)}"
            )
        state[name] = "visiting"
        for dep in sorted(requirements[name]):
            visit(dep, [*path, name])
        state[name] = "done"
        ordered.append(by_name[name])

    for name in sorted(by_name):
        visit(name, [])
    return ordered


def include_plugins(
    config: Configurator,
    plugins: Sequence[PluginInfo],
    environ: Mapping[str, str] | None = None,
) -> None:
    """``config.include`` each plugin under its route prefix, then commit them together.

    Core is already committed, so Pyramid would let a plugin silently replace a core
    registration; once every discriminator resolves (after the commit) they are compared with
    core's, and start-up stops if one matches.  The actions each include added are what the
    plugin registered (:mod:`benben.plugins.introspection`); ``environ`` may ask for them to be
    logged (``BENBEN_TRACE_PLUGINS=1``).
    """
    first_order = introspector_position(config.registry)
    owned: dict[str, list[dict[str, Any]]] = {}
    for plugin in plugins:
        pending = config.action_state
        start = len(pending.actions)
        try:
            with being_included(config.registry, plugin):
                config.include(plugin.target, route_prefix=plugin.route_prefix or None)
        except ConfigurationError as exc:
            raise ConfigurationError(f"plugin {plugin.name!r}: {exc}") from exc
        except Exception as exc:
            raise ConfigurationError(
                f"plugin {plugin.name!r} failed while being included: {_describe(exc)}"
            ) from exc
        if config.action_state is not pending:
            # Pyramid replaces the action state on commit: what the plugin registered so far
            # took effect unchecked, possibly over core's or another plugin's registrations.
            raise ConfigurationError(
                f"plugin {plugin.name!r} calls config.commit() in its includeme: Benben commits "
                "plugins together, after checking that none replaces core's or another "
                "plugin's registrations; remove the commit"
            )
        owned[plugin.name] = pending.actions[start:]
    actions = list(config.action_state.actions)
    try:
        config.commit()
    except ConfigurationConflictError as exc:
        raise PluginConflictError(exc._conflicts, plugins) from None
    except Exception as exc:
        culprit = plugin_of_error(exc, plugins) or plugin_of_unresolvable(actions, plugins)
        who = f"plugin {culprit.name!r}" if culprit else "a plugin"
        raise ConfigurationError(f"{who} failed at commit: {_describe(exc)}") from exc
    refuse_core_overrides(config, actions, plugins)
    record_plugin_actions(config.registry, owned, first_order)
    trace_registrations(config.registry, os.environ if environ is None else environ)


def _check_core(plugin: PluginInfo, core_version: str) -> None:
    spec = plugin.metadata.core
    if spec and not SpecifierSet(spec).contains(core_version, prereleases=True):
        raise ConfigurationError(
            f"plugin {plugin.name!r} {plugin.version} supports benben {spec}, "
            f"but this is benben {core_version}"
        )


def _check_target(spec: str, target: Any) -> str:
    """What the entry point names must be something ``config.include`` can include."""
    if inspect.ismodule(target):
        if not callable(getattr(target, "includeme", None)):
            return f"entry point {spec} names a module without an includeme(config) function"
    elif not callable(target):
        return f"entry point {spec} names a {type(target).__name__}, which is not callable"
    return ""


def _check_declaration(info: PluginInfo) -> str:
    metadata = info.metadata
    for field in ("requires", "settings"):
        if isinstance(getattr(metadata, field), str | bytes):
            return f"PluginMetadata.{field} must be a list, not a string"
    if any(not isinstance(setting, Setting) for setting in metadata.settings):
        return "PluginMetadata.settings must hold benben.plugin.Setting instances"
    if not PLUGIN_NAME.fullmatch(info.name):
        return f"invalid plugin name {info.name!r}: use lowercase letters, digits and _"
    if info.name in RESERVED_NAMES:
        return f"plugin name {info.name!r} is reserved for Benben's core"
    for text in info.metadata.requires:
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            return f"invalid requirement {text!r}: {exc}"
    if info.metadata.core:
        try:
            SpecifierSet(info.metadata.core)
        except InvalidSpecifier:
            return f"invalid core version specifier {info.metadata.core!r}"
    try:
        Version(info.version)
    except InvalidVersion:
        return f"invalid version {info.version!r}"
    prefix = info.route_prefix
    if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
        return f"route_prefix {prefix!r} must start with '/' and not end with it"
    for setting in info.metadata.settings:
        if not setting.name.startswith(info.namespace):
            return f"setting {setting.name} is outside the plugin's namespace {info.namespace}*"
    return ""


def _mark_namesakes(plugins: Sequence[PluginInfo]) -> None:
    """Two plugins with one name would share a namespace and a prefix: neither may run.

    They are marked, not refused outright, so that disabling the name still lets Benben start.
    """
    for plugin in plugins:
        twins = [p for p in plugins if p.name == plugin.name and p is not plugin]
        if twins:
            others = ", ".join(f"{p.entry_point} ({p.distribution})" for p in twins)
            plugin.status = "error"
            plugin.reason = f"another installed plugin is named {plugin.name!r}: {others}"


def _find_metadata(target: Any) -> Any:
    found = getattr(target, "benben_plugin", None)
    if found is None and not inspect.ismodule(target):
        module = inspect.getmodule(target)
        found = getattr(module, "benben_plugin", None)
    return PluginMetadata() if found is None else found


def _package_location(target: Any) -> str | None:
    """The plugin's top-level package directory (or its file, for a single-module plugin)."""
    module = target if inspect.ismodule(target) else inspect.getmodule(target)
    if module is None:
        return None
    top = sys.modules.get(module.__name__.split(".")[0])
    path = getattr(top, "__file__", None)
    if not path:
        return None
    path = os.path.abspath(path)
    return os.path.dirname(path) if hasattr(top, "__path__") else path


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
