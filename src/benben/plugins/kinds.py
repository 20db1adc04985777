"""Each kind of registration as the plugins' report shows it: an introspectable (Pyramid's, or
one of Benben's directives', in the ``benben ...`` categories) into ``{kind, name, details}``
with JSON values only (callables by dotted name), and the one line that describes it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pyramid.security import NO_PERMISSION_REQUIRED

__all__ = ["GROUPS", "dotted_name", "entry_for", "summary"]

# The report's groups, in the order they are listed and logged.
GROUPS = (
    "routes",
    "views",
    "services",
    "permissions",
    "subscribers",
    "event_listeners",
    "tasks",
    "periodic_tasks",
    "health_checks",
    "migrations",
    "admin_pages",
    "static_assets",
    "static_views",
    "record_members",
    "backup_participants",
    "capabilities",
    "openapi_operations",
    "openapi_contributors",
    "body_limits",
    "ratelimit_groups",
    "ratelimit_exemptions",
    "other",
)

# Details of another registration, shown with it: a route's factory, a view's mapper/template.
_FOLDED = frozenset({"root factories", "view mappers", "templates"})


def _is_cornice_fallback(view: Any) -> bool:
    """Cornice's answer to a method a service does not serve (405): Cornice's, not the
    plugin's registration."""
    name = dotted_name(view) or ""
    return name.startswith("cornice.pyramidhook.") and name.endswith("_fallback_view")


def dotted_name(obj: Any) -> str | None:
    """``package.module.function`` (or the class of an instance); None for None."""
    if obj is None:
        return None
    if isinstance(obj, str):
        return obj
    target = obj if hasattr(obj, "__qualname__") else type(obj)
    module = getattr(target, "__module__", None) or "?"
    return f"{module}.{getattr(target, '__qualname__', repr(target))}"


def _methods(value: Any) -> list[str] | None:
    if value is None:
        return None
    return sorted({value} if isinstance(value, str) else set(value))


def _route(intr: Any, _: Sequence[Any]) -> dict[str, Any]:
    # Pyramid keeps prefixed patterns without their leading slash.
    return {
        "pattern": "/" + str(intr["pattern"]).lstrip("/"),
        "methods": _methods(intr.get("request_methods")),
        "factory": dotted_name(intr.get("factory")),
    }


def _view(intr: Any, siblings: Sequence[Any]) -> dict[str, Any]:
    permission = next((s["value"] for s in siblings if s.category_name == "permissions"), None)
    details: dict[str, Any] = {
        "route": intr.get("route_name"),
        "methods": _methods(intr.get("request_methods")),
        "permission": permission,
        "callable": dotted_name(intr.get("callable")),
    }
    if intr.get("name"):
        details["view_name"] = intr["name"]
    if intr.get("context") is not None:
        details["context"] = dotted_name(intr["context"])
    if intr.get("exception_only"):
        details["exception_only"] = True
    return details


def _keys(*names: str) -> Callable[[Any, Sequence[Any]], dict[str, Any]]:
    def details(intr: Any, _: Sequence[Any]) -> dict[str, Any]:
        return {name: intr.get(name) for name in names}

    return details


def _callable_keys(*names: str) -> Callable[[Any, Sequence[Any]], dict[str, Any]]:
    def details(intr: Any, _: Sequence[Any]) -> dict[str, Any]:
        found = {name: intr.get(name) for name in names}
        return {name: dotted_name(v) if callable(v) else v for name, v in found.items()}

    return details


def _subscriber(intr: Any, _: Sequence[Any]) -> dict[str, Any]:
    return {"interfaces": [dotted_name(i) for i in intr.get("interfaces") or ()]}


def _migrations(intr: Any, _: Sequence[Any]) -> dict[str, Any]:
    from benben.db.migrations import MigrationSource  # Alembic: only when a report is asked for

    source = MigrationSource(intr["owner"], intr["location"], intr["version_table"])
    return {
        "location": intr["location"],
        "version_table": intr["version_table"],
        "heads": sorted(source.heads()),
    }


def _backup(intr: Any, _: Sequence[Any]) -> dict[str, Any]:
    files = intr.get("files")
    return {
        "tables": list(intr.get("tables") or ()),
        "files": dotted_name(type(files)) if files is not None else None,
        "after_restore": dotted_name(intr.get("after_restore")),
    }


def _service(intr: Any, siblings: Sequence[Any]) -> dict[str, Any]:
    """A pyramid_services registration: what it provides, for which context, made by what."""
    return {
        "interface": _interface_name(intr.get("type")),
        "context": _interface_name(intr.get("context")),
        "name": intr.get("name") or "",
        "factory": intr.type_name,  # pyramid_services keeps the factory's name only
    }


def _interface_name(obj: Any) -> str | None:
    # A zope interface is an instance of InterfaceClass: its own dotted name is __identifier__.
    return getattr(obj, "__identifier__", None) or dotted_name(obj)


# category -> (group, kind, name of the entry, details)
_KINDS: dict[str, tuple[str, str, Callable[[Any], Any], Callable[[Any, Sequence[Any]], Any]]] = {
    "routes": ("routes", "route", lambda i: i["name"], _route),
    "views": ("views", "view", lambda i: dotted_name(i.get("callable")), _view),
    "pyramid_services": ("services", "service",
                         lambda i: i.get("name") or dotted_name(i.get("type")), _service),
    "permissions": ("permissions", "permission", lambda i: i["value"], lambda i, s: {}),
    "subscribers": ("subscribers", "subscriber", lambda i: dotted_name(i["subscriber"]),
                    _subscriber),
    "benben event listeners": ("event_listeners", "event_listener",
                               lambda i: dotted_name(i["callable"]), _keys("event_types")),
    "benben tasks": ("tasks", "task", lambda i: i["name"], _callable_keys("queue", "callable")),
    "benben periodic tasks": ("periodic_tasks", "periodic_task", lambda i: i["task"],
                              _keys("seconds")),
    "benben health checks": ("health_checks", "health_check", lambda i: i.title,
                             _keys("critical")),
    "benben migrations": ("migrations", "migrations", lambda i: i["owner"], _migrations),
    "benben admin pages": ("admin_pages", "admin_page", lambda i: i["name"],
                           _keys("title", "module", "path", "icon", "order", "admin_only")),
    "benben static assets": ("static_assets", "static_assets", lambda i: i["name"],
                             _keys("path", "asset_spec")),
    "static views": ("static_views", "static_view", lambda i: i["name"], _keys("spec")),
    "benben record members": ("record_members", "record_member", lambda i: i["name"],
                              _keys("schema")),
    "benben backup participants": ("backup_participants", "backup_participant",
                                   lambda i: i["owner"], _backup),
    "benben api capabilities": ("capabilities", "capability", lambda i: i["name"],
                                _keys("description", "url")),
    "benben openapi operations": ("openapi_operations", "openapi_operation", lambda i: i.title,
                                  _keys("route_name", "method", "summary", "tags")),
    "benben openapi contributors": ("openapi_contributors", "openapi_contributor",
                                    lambda i: i["name"], lambda i, s: {}),
    "benben body limits": ("body_limits", "body_limit", lambda i: i["path_pattern"],
                           _keys("limit")),
    "ratelimit groups": ("ratelimit_groups", "ratelimit_group", lambda i: i["route_name"],
                         _keys("group")),
    "benben ratelimit exemptions": ("ratelimit_exemptions", "ratelimit_exemption",
                                    lambda i: i["path_prefix"], lambda i, s: {}),
}  # fmt: skip


def entry_for(intr: Any, siblings: Sequence[Any]) -> tuple[str, dict[str, Any]] | None:
    """(group, ``{kind, name, details}``) of an introspectable; None for what is shown with
    another registration (``siblings``: the introspectables of the same action)."""
    category = intr.category_name
    if category in _FOLDED:
        return None
    if category == "views" and _is_cornice_fallback(intr.get("callable")):
        return None
    if category == "permissions" and intr["value"] == NO_PERMISSION_REQUIRED:
        return None  # public views say so in their own details; it is no permission
    if category not in _KINDS:
        details = {"category": category, "type": intr.type_name}
        return "other", {"kind": "other", "name": str(intr.title), "details": details}
    group, kind, name, details = _KINDS[category]
    return group, {"kind": kind, "name": str(name(intr)), "details": details(intr, siblings)}


def summary(entry: dict[str, Any]) -> str:
    """One line: ``route files.attachment /api/v1/.../{name} GET,HEAD,PUT,DELETE``."""
    kind, name, details = entry["kind"], entry["name"], entry["details"]
    if kind == "route":
        extra = f"{details['pattern']} {','.join(details['methods'] or ['*'])}"
    elif kind == "view":
        methods = ",".join(details["methods"] or ["*"])
        where = details["route"] or details.get("context") or "-"
        extra = f"{methods} {where} permission={details['permission'] or '-'}"
    elif kind == "event_listener":
        extra = ",".join(details["event_types"])
    elif kind == "migrations":
        extra = f"{details['location']} heads={','.join(details['heads']) or '-'}"
    else:
        shown = (f"{k}={v}" for k, v in details.items() if isinstance(v, str | int | float))
        extra = " ".join(shown)
    return f"{kind.replace('_', ' ')} {name} {extra}".rstrip()
