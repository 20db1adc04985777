"""What a configured registry serves, read from its committed configuration: paths and path
parameters from the routes' patterns, methods and permissions from the views introspector, each
view's callable and deprecation."""

from __future__ import annotations

import re
from typing import Any

from pyramid.registry import Registry
from pyramid.security import NO_PERMISSION_REQUIRED

from benben.deprecation import Deprecation

__all__ = ["METHOD_ORDER", "method_rank", "openapi_path", "served_operations", "view_callables"]

METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
# {name}, {name:regex} and the *remainder of a Pyramid route pattern.
_PLACEHOLDER = re.compile(r"\{(\w+)(?::((?:[^{}]|\{[^{}]*\})*))?\}|\*(\w+)\Z")


def openapi_path(pattern: str) -> tuple[str, list[dict[str, Any]]]:
    """An OpenAPI path template and its path parameters, from a Pyramid route pattern."""
    parameters: list[dict[str, Any]] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        schema: dict[str, Any] = {"type": "string"}
        if match.group(2):
            schema["pattern"] = f"^{match.group(2)}$"
        elif match.group(3):
            schema["description"] = "The rest of the path."
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    path = _PLACEHOLDER.sub(replace, pattern)
    return ("/" + path.lstrip("/")), parameters


def served_operations(registry: Registry) -> dict[str, dict[str, str | None]]:
    """``{route name: {METHOD: permission or None}}`` of every view bound to a method."""
    introspector = registry.introspector
    served: dict[str, dict[str, str | None]] = {}
    for item in introspector.get_category("views") or []:
        intr = item["introspectable"]
        route_name = intr.get("route_name")
        methods = intr.get("request_methods")
        if not route_name or not methods:  # exception views, Cornice's fallback view
            continue
        permission = None
        for related in introspector.related(intr):
            if related.category_name == "permissions":
                permission = related["value"]
        if permission == NO_PERMISSION_REQUIRED:
            permission = None
        for method in (methods,) if isinstance(methods, str) else methods:
            served.setdefault(route_name, {}).setdefault(method.upper(), permission)
    return served


def view_callables(
    registry: Registry,
) -> tuple[dict[tuple[str, str], Any], dict[tuple[str, str], Deprecation]]:
    """Each (route, method)'s view callable, and the deprecations of the views that have one
    (the view option ``deprecated``: what the responses announce is what the document says)."""
    callables: dict[tuple[str, str], Any] = {}
    deprecations: dict[tuple[str, str], Deprecation] = {}
    for item in registry.introspector.get_category("views") or []:
        intr = item["introspectable"]
        methods = intr.get("request_methods") or ()
        for method in (methods,) if isinstance(methods, str) else methods:
            key = (intr.get("route_name"), method.upper())
            callables.setdefault(key, intr.get("callable"))
            if isinstance(deprecated := intr.get("deprecated"), Deprecation):
                deprecations.setdefault(key, deprecated)
    return callables, deprecations


def method_rank(method: str) -> int:
    return METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)
