"""``GET /``: a small HTML page for whoever opens the server in a browser, linking to what there is
to see (the API documentation, the OpenAPI document, the API root, health, and the admin console
when one is installed).  Plain HTML: no script, no style, so the strict CSP for HTML holds."""

from __future__ import annotations

import html
from importlib.resources import files

from pyramid.config import Configurator
from pyramid.interfaces import IRoutesMapper
from pyramid.request import Request
from pyramid.response import Response

from benben.version import __version__

__all__ = ["ADMIN_CONSOLE_ROUTE", "landing_view"]

# The route the admin console registers (a later issue): linked from here once it exists.
ADMIN_CONSOLE_ROUTE = "admin.console"
_TEMPLATE_KEY = "benben.landing.template"
_LINKS = (
    ("api.docs", "API documentation", "every endpoint, with a page to try them"),
    ("api.openapi", "OpenAPI document", "for client generators and tools"),
    ("api.root", "API root", "this instance's version, plugins and capabilities"),
    ("health.ready", "Health", "whether the database and cache answer"),
)


def landing_view(request: Request) -> Response:
    links = list(_LINKS)
    mapper = request.registry.getUtility(IRoutesMapper)
    if mapper.get_route(ADMIN_CONSOLE_ROUTE) is not None:
        links.insert(0, (ADMIN_CONSOLE_ROUTE, "Admin console", "manage users and data"))
    items = "\n".join(
        f'<li><a href="{html.escape(request.route_url(route))}">{title}</a>: {what}</li>'
        for route, title, what in links
    )
    page = request.registry[_TEMPLATE_KEY].format(
        version=html.escape(__version__),
        links=items,
        login=html.escape(request.route_path("api.auth.login")),
    )
    return Response(page, content_type="text/html", charset="utf-8")


def includeme(config: Configurator) -> None:
    from benben.openapi.operations import add_openapi_operation
    from benben.rest import Response as Documented

    template = files("benben").joinpath("templates", "landing.html").read_text(encoding="utf-8")
    config.registry[_TEMPLATE_KEY] = template
    config.add_route("home", "/")
    config.add_view(landing_view, route_name="home", request_method="GET")
    add_openapi_operation(
        config,
        "home",
        "GET",
        operation_id="getHome",
        tags=["api"],
        summary="A page for browsers, linking to the API documentation",
        responses={200: Documented("An HTML page.", {"type": "string"}, media_type="text/html")},
    )
