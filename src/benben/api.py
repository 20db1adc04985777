"""``GET /api/v1/`` (what this instance is and can do) and ``GET /version``."""

from __future__ import annotations

import platform
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request

from benben.version import __version__

CAPABILITIES_KEY = "benben.api.capabilities"


def add_api_capability(
    config: Configurator, name: str, description: str, url: str | None = None
) -> None:
    """Directive: announce a capability in the API root (``GET /api/v1/``)."""
    if not name or not description:
        raise ConfigurationError("add_api_capability needs a name and a description")
    stack = config.registry.get("benben.plugin_stack") or []
    owner = stack[-1].name if stack else "core"
    entry = {"description": description, "provided_by": owner}
    if url:
        entry["url"] = url

    def register() -> None:
        config.registry.setdefault(CAPABILITIES_KEY, {})[name] = entry

    config.action(("benben-capability", name), register)


def api_root_view(request: Request) -> dict[str, Any]:
    registry = request.registry
    plugins = [p.as_json() for p in registry["benben.plugins"] if p.status == "enabled"]
    return {
        "benben": {"version": __version__},
        "url": request.route_url("api.root"),
        "plugins": plugins,
        "capabilities": dict(sorted(registry.get(CAPABILITIES_KEY, {}).items())),
    }


def version_view(request: Request) -> dict[str, Any]:
    return {
        "version": __version__,
        "python": platform.python_version(),
        "plugins": {
            p.name: p.version for p in request.registry["benben.plugins"] if p.status == "enabled"
        },
    }


def includeme(config: Configurator) -> None:
    config.add_directive("add_api_capability", add_api_capability)
    config.add_route("api.root", "/api/v1/")
    config.add_route("version", "/version")
    config.add_view(api_root_view, route_name="api.root", renderer="json", request_method="GET")
    config.add_view(version_view, route_name="version", renderer="json", request_method="GET")
    config.add_api_capability("health", "Liveness and readiness probes", "/health/ready")
