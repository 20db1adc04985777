"""The console's HTML shell (``/admin/`` and every client-side route under it) and its assets.

The shell is the same document for every path: the page itself is drawn by ``static/js/app.js``
from the path (History API routing).  What the script needs to start (URLs, versions, plugin
pages) is JSON in ``<script type="application/json" id="console-config">``: data, not code, so
the strict Content-Security-Policy (no inline script) holds.

Assets are served under ``/admin/static/<version>/``, the version a digest of their content: a
URL never changes meaning, so browsers may keep them a year, and an upgrade changes every URL.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from string import Template
from typing import Any

from pyramid.response import Response as PyramidResponse

from benben.plugin import Configurator, Request, admin_pages, core_version, enabled_plugins

__all__ = ["STATIC_DIR", "includeme", "shell_view"]

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATE_KEY = "benben_console.template"
VERSION_KEY = "benben_console.static_version"

# Python's table may lack the font type; a wrong type would only be a warning, but say it right.
mimetypes.add_type("font/woff2", ".woff2")
mimetypes.add_type("text/javascript", ".js")


def _script_json(data: Any) -> str:
    """JSON that cannot end the <script> element it sits in, nor open a comment."""
    text = json.dumps(data, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def console_config(request: Request) -> dict[str, Any]:
    """What app.js starts from."""
    root = request.script_name
    version = request.registry[VERSION_KEY]
    return {
        "version": core_version(),
        "static_version": version,
        "base": f"{root}/admin/",
        "static": f"{root}/admin/static/{version}",
        "api": f"{root}/api/v1",
        "client": f"{root}/client/benben.js",
        "session": f"{root}/admin/session",
        "health": f"{root}/health/ready",
        "docs": f"{root}/api/v1/docs",
        "pages": [page.as_json(root) for page in admin_pages(request.registry)],
        "plugins": [
            {
                "name": p.name,
                "version": p.version,
                "description": p.metadata.description if p.metadata else "",
            }
            for p in enabled_plugins(request.registry)
        ],
    }


def shell_view(request: Request) -> PyramidResponse:
    root = request.script_name
    page = request.registry[TEMPLATE_KEY].substitute(
        static=f"{root}/admin/static/{request.registry[VERSION_KEY]}",
        api=f"{root}/api/v1/",
        config=_script_json(console_config(request)),
    )
    response = PyramidResponse(page, content_type="text/html", charset="utf-8")
    # The shell names the current assets' version: always revalidated.
    response.cache_control = "no-cache"
    return response


def includeme(config: Configurator) -> None:
    template = (Path(__file__).parent / "templates" / "shell.html").read_text(encoding="utf-8")
    config.registry[TEMPLATE_KEY] = Template(template)
    # Under a digest of their content, cached a year, never rate limited (core's helper).
    base = config.add_static_assets("admin/static", "benben_console:static")
    config.registry[VERSION_KEY] = base.rsplit("/", 1)[1]
    config.add_route("admin.console", "/admin/")
    # Every other /admin/ path is a client-side route, except the assets (an old version's URL
    # is a 404, not a page) and the session endpoints.
    config.add_route("admin.console.path", r"/admin/{path:(?!static(/|$)|session(/|$)).+}")
    for route in ("admin.console", "admin.console.path"):
        config.add_view(shell_view, route_name=route, request_method=("GET", "HEAD"))
