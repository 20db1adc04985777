"""``GET /``: a page for a browser, linking to the API docs, the OpenAPI document, the API root,
health and, once one is installed, the admin console; strict CSP, no script or style."""

from __future__ import annotations

import re

import pytest

from benben.landing import ADMIN_CONSOLE_ROUTE

# What it serves needs no database or cache: the embedded default is enough.
pytestmark = pytest.mark.parametrize("backends", [("sqlite", "memory")], indirect=True)


def links(page: str) -> dict[str, str]:
    return {text: href for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', page)}


def test_the_home_page_links_to_what_there_is_to_see(app):
    response = app.get("/", status=200)
    assert response.content_type == "text/html"
    assert response.charset == "utf-8"
    assert links(response.text) == {
        "Admin console": "http://localhost/admin/",
        "API documentation": "http://localhost/api/v1/docs",
        "OpenAPI document": "http://localhost/api/v1/openapi.json",
        "API root": "http://localhost/api/v1/",
        "Health": "http://localhost/health/ready",
    }
    assert "<code>POST /api/v1/auth/login</code>" in response.text
    # The HTML policy of the security headers tween: nothing inline to allow.
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script" not in response.text
    assert "style" not in response.text
    for href in links(response.text).values():
        assert app.get(href.removeprefix("http://localhost"), status=200)
    assert app.head("/", status=200).body == b""


def test_links_follow_the_host_and_include_the_admin_console_once_installed(make_app):
    def console(config):
        config.add_route(ADMIN_CONSOLE_ROUTE, "/admin/")

    app = make_app(include=console)
    found = links(app.get("/", extra_environ={"HTTP_HOST": "data.example.org"}).text)
    assert found["Admin console"] == "http://data.example.org/admin/"
    assert next(iter(found)) == "Admin console"


def test_other_methods_are_refused(app):
    response = app.post("/", status=405)
    assert response.json["detail"] == "Method POST is not allowed on /; allowed: GET."
