"""``GET /api/v1/`` (what this instance is and can do) and ``GET /version``."""

from __future__ import annotations

import platform
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request

from benben.plugins.installed import enabled_plugins, including_plugin
from benben.security.permissions import ADMIN
from benben.security.resources import Root
from benben.version import __version__

CAPABILITIES_KEY = "benben.api.capabilities"
API_VERSION = "v1"  # the version in every API path: /api/v1/


def add_api_capability(
    config: Configurator, name: str, description: str, url: str | None = None
) -> None:
    """Directive: announce a capability in the API root (``GET /api/v1/``)."""
    if not name or not description:
        raise ConfigurationError("add_api_capability needs a name and a description")
    plugin = including_plugin(config.registry)
    owner = plugin.name if plugin is not None else "core"
    entry = {"description": description, "provided_by": owner}
    if url:
        entry["url"] = url

    def register() -> None:
        config.registry.setdefault(CAPABILITIES_KEY, {})[name] = entry

    intr = config.introspectable("benben api capabilities", name, name, "benben api capability")
    intr.update(name=name, **entry)
    config.action(("benben-capability", name), register, introspectables=(intr,))


def api_root_view(request: Request) -> dict[str, Any]:
    registry = request.registry
    plugins = [p.as_json() for p in enabled_plugins(registry)]
    return {
        "benben": {"version": __version__},
        "url": request.route_url("api.root"),
        "plugins": plugins,
        "capabilities": dict(sorted(registry.get(CAPABILITIES_KEY, {}).items())),
    }


def version_view(request: Request) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": __version__,
        "api": API_VERSION,
        "plugins": {p.name: p.version for p in enabled_plugins(request.registry)},
    }
    # The platform tells an attacker which published vulnerabilities to try: administrators only
    # (an admin's session, or an API token with the admin scope).  Anonymous callers, the
    # probes' usual case, are answered without looking a credential up.
    if request.environ.get("HTTP_AUTHORIZATION") and request.has_permission(ADMIN, Root(request)):
        body["python"] = platform.python_version()
        body["platform"] = platform.platform(terse=True)
    request.response.vary = ("Authorization",)  # the answer depends on the caller
    return body


VERSION = {
    "title": "Version",
    "type": "object",
    "required": ["version", "api", "plugins"],
    "properties": {
        "version": {"type": "string", "description": "Benben's version."},
        "api": {"const": API_VERSION, "description": "The API's version, as in its paths."},
        "python": {
            "type": "string",
            "description": "The Python version: for administrators only.",
        },
        "platform": {
            "type": "string",
            "description": "The operating system and machine, as `platform.platform(terse=True)`"
            ": for administrators only.",
        },
        "plugins": {
            "type": "object",
            "description": "The version of each enabled plugin, by name.",
            "additionalProperties": {"type": "string"},
        },
    },
    "additionalProperties": False,
}
API_ROOT = {
    "title": "ApiRoot",
    "type": "object",
    "required": ["benben", "url", "plugins", "capabilities"],
    "properties": {
        "benben": {
            "type": "object",
            "required": ["version"],
            "properties": {"version": {"type": "string"}},
            "additionalProperties": False,
        },
        "url": {"type": "string", "format": "uri", "description": "This API root's URL."},
        "plugins": {
            "type": "array",
            "description": "The enabled plugins.",
            "items": {
                "title": "Plugin",
                "type": "object",
                "required": ["name", "version", "distribution", "status", "url", "description"],
                "properties": {
                    "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
                    "version": {"type": "string"},
                    "distribution": {"type": ["string", "null"]},
                    "status": {"const": "enabled"},
                    "url": {"type": "string", "description": "The prefix of its routes."},
                    "description": {"type": "string"},
                },
                "additionalProperties": False,
            },
        },
        "capabilities": {
            "type": "object",
            "description": "Capabilities announced by core and plugins, by name.",
            "additionalProperties": {
                "title": "Capability",
                "type": "object",
                "required": ["description", "provided_by"],
                "properties": {
                    "description": {"type": "string"},
                    "provided_by": {"type": "string", "description": "`core` or a plugin."},
                    "url": {"type": "string"},
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


def includeme(config: Configurator) -> None:
    from benben.openapi.operations import add_openapi_operation
    from benben.rest import Response as Documented

    config.add_directive("add_api_capability", add_api_capability)
    config.include("benben.trailing_slash")  # /api/v1 -> /api/v1/, /collections/ -> /collections
    config.add_route("api.root", "/api/v1/")
    config.add_route("version", "/version")
    config.add_view(api_root_view, route_name="api.root", renderer="json", request_method="GET")
    config.add_view(version_view, route_name="version", renderer="json", request_method="GET")
    add_openapi_operation(
        config,
        "api.root",
        "GET",
        operation_id="getApiRoot",
        tags=["api"],
        summary="API root",
        description="This instance's version, enabled plugins and announced capabilities.",
        responses={200: Documented("What this instance is and can do.", API_ROOT)},
    )
    add_openapi_operation(
        config,
        "version",
        "GET",
        operation_id="getVersion",
        tags=["operations"],
        summary="Versions of Benben, its API and the enabled plugins",
        description="Administrators also see the Python version and the platform.",
        responses={200: Documented("The versions.", VERSION)},
    )
    config.add_api_capability("health", "Liveness and readiness probes", "/health/ready")
