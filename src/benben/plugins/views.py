"""``GET /api/v1/plugins`` and ``/api/v1/plugins/{name}``: every installed plugin, for
administrators, with what each enabled one registered (:mod:`benben.plugins.introspection`).

The list follows the API's list convention (docs/api-conventions.md); its items are few and in
memory, so it is paged here rather than in SQL, with the same signed keyset cursors.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from benben.errors import ProblemError
from benben.listing import Listing, ListParams, invalid_parameter, list_response
from benben.plugins.installed import installed_plugins
from benben.plugins.introspection import plugin_registrations
from benben.plugins.kinds import GROUPS
from benben.plugins.metadata import PluginInfo
from benben.rest import Parameter, Response, Service
from benben.security.permissions import ADMIN
from benben.security.resources import Root

__all__ = ["PLUGIN_SCHEMA", "get_plugin_view", "includeme", "list_plugins_view", "plugin_item"]

STATUSES = ("enabled", "disabled", "error")

plugins_service = Service(
    name="api.plugins",
    path="/api/v1/plugins",
    factory=Root,  # administrators only: what runs, and where its code is
    tags=["plugins"],
    description="The installed plugins and what each registered.",
)
plugin_service = Service(
    name="api.plugins.item", path="/api/v1/plugins/{name}", factory=Root, tags=["plugins"]
)

PLUGINS = Listing(
    sortable=("name", "status"),
    default_sort="name",
    filters=(
        Parameter(
            "status",
            schema={"type": "string", "enum": list(STATUSES)},
            description="Only plugins with this status.",
        ),
    ),
)

REGISTRATION_SCHEMA: dict[str, Any] = {
    "title": "PluginRegistration",
    "type": "object",
    "required": ["kind", "name", "details", "source"],
    "properties": {
        "kind": {"type": "string", "examples": ["route", "view", "task", "event_listener"]},
        "name": {"type": "string", "examples": ["files.attachment"]},
        "details": {"type": "object", "description": "What the kind has: a route's pattern "
                    "and methods, a view's route, methods and permission..."},
        "source": {"type": "string", "description": "The call that registered it, `path:line` "
                   "(relative to the plugin's package directory when inside it).",
                   "examples": ["benben_files/api_downloads.py:408"]},
    },
}  # fmt: skip

PLUGIN_SCHEMA: dict[str, Any] = {
    "title": "InstalledPlugin",
    "type": "object",
    "required": ["id", "name", "version", "distribution", "entry_point", "status", "reason"],
    "properties": {
        "id": {"type": "string", "description": "The plugin's name."},
        "name": {"type": "string"},
        "version": {"type": "string"},
        "distribution": {"type": ["string", "null"]},
        "entry_point": {"type": "string"},
        "description": {"type": "string"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "reason": {"type": "string", "description": "Why it is disabled or broken; empty when "
                   "enabled."},
        "api": {"type": ["integer", "null"], "description": "The plugin API level it declares."},
        "requires": {"type": "array", "items": {"type": "string"}},
        "route_prefix": {"type": "string"},
        "settings": {"type": "array", "items": {"type": "object"}, "description": "Declared "
                     "settings: name, env, default (never a secret's), secret, help."},
        "commands": {"type": "array", "items": {"type": "object"},
                     "description": "Its `benben` subcommands (entry points benben.commands)."},
        "registrations": {
            "type": ["object", "null"],
            "description": "What it registered, by kind (null unless enabled).",
            "properties": {
                group: {"type": "array", "items": REGISTRATION_SCHEMA} for group in GROUPS
            },
        },
    },
}  # fmt: skip


def plugin_item(registry: Any, plugin: PluginInfo) -> dict[str, Any]:
    """A plugin as the API shows it: what was found, and what it registered when enabled."""
    item: dict[str, Any] = {
        "id": plugin.name,
        "name": plugin.name,
        "version": plugin.version,
        "distribution": plugin.distribution,
        "entry_point": plugin.entry_point,
        "description": plugin.metadata.description if plugin.status != "error" else "",
        "status": plugin.status if plugin.status in STATUSES else "error",
        "reason": plugin.reason,
        "registrations": None,
    }
    if plugin.status != "enabled":
        return item
    report = plugin_registrations(registry, plugin.name)
    return {**item, **{k: v for k, v in report.items() if k not in item or k == "registrations"}}


@plugins_service.get(
    permission=ADMIN,
    operation_id="listPlugins",
    summary="List the installed plugins",
    description="Every installed plugin, enabled or not (with the reason), and what each "
    "enabled one registered, with the file and line of each registration.",
    parameters=PLUGINS.parameters(),
    responses={
        200: PLUGINS.response("The installed plugins.", PLUGIN_SCHEMA, "InstalledPluginList")
    },
)
def list_plugins_view(request: Request) -> dict[str, Any]:
    params = PLUGINS.parse(request)
    found = installed_plugins(request.registry)
    if "status" in params.filters:
        wanted = params.filters["status"]
        if wanted not in STATUSES:
            raise _bad_status()
        found = [p for p in found if _status(p) == wanted]
    total = len(found) if params.count else None
    ordered = _ordered(found, params)
    page = ordered[: params.limit]
    cursor = params.cursor_for(_keys(page[-1], params)) if len(ordered) > params.limit else None
    data = [plugin_item(request.registry, plugin) for plugin in page]
    return list_response(request, data, cursor, total)


@plugin_service.get(
    permission=ADMIN,
    operation_id="getPlugin",
    summary="One installed plugin",
    responses={
        200: Response("The plugin and what it registered.", PLUGIN_SCHEMA),
        404: "No installed plugin has that name.",
    },
)
def get_plugin_view(request: Request) -> dict[str, Any]:
    name = request.matchdict["name"]
    plugin = next((p for p in installed_plugins(request.registry) if p.name == name), None)
    if plugin is None:
        raise ProblemError(404, detail="no installed plugin has this name")
    return plugin_item(request.registry, plugin)


def _status(plugin: PluginInfo) -> str:
    return plugin.status if plugin.status in STATUSES else "error"


def _value(plugin: PluginInfo, name: str) -> str:
    if name == "id":  # unique even for two plugins of one name (both refused, both listed)
        return "\0".join((plugin.name, plugin.distribution or "", plugin.entry_point))
    return _status(plugin) if name == "status" else plugin.name


def _keys(plugin: PluginInfo, params: ListParams) -> tuple[str, ...]:
    return tuple(_value(plugin, name) for name, _ in params.sort)


def _ordered(plugins: Sequence[PluginInfo], params: ListParams) -> list[PluginInfo]:
    """The plugins in the list's order, from after the cursor's position."""

    def compare(left: tuple[str, ...], right: tuple[str, ...]) -> int:
        for (_, descending), a, b in zip(params.sort, left, right, strict=True):
            if a != b:
                return (1 if a > b else -1) * (-1 if descending else 1)
        return 0

    keyed = sorted(
        ((_keys(p, params), p) for p in plugins),
        key=functools.cmp_to_key(lambda x, y: compare(x[0], y[0])),
    )
    after = params.after
    if after is not None:
        keyed = [(k, p) for k, p in keyed if compare(k, tuple(after)) > 0]
    return [plugin for _, plugin in keyed]


def _bad_status() -> ProblemError:
    return invalid_parameter("status", f"must be one of {', '.join(STATUSES)}")


def includeme(config: Configurator) -> None:
    config.add_cornice_service(plugins_service)
    config.add_cornice_service(plugin_service)
