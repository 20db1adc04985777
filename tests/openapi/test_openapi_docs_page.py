"""``GET /api/v1/docs``: Swagger UI from the package's own files, under the strict HTML CSP."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib.resources import files

import pytest
import webtest

from benben import __version__
from benben.errors import PROBLEM_JSON
from benben.hardening.headers import HTML_CSP
from benben.openapi.views import ASSETS


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.styles: list[str] = []
        self.inline_code: list[str] = []
        self.handlers: list[str] = []
        self.urls: list[str] = []
        self.data_url: str | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.handlers += [name for name in attributes if name.startswith("on")]
        if "style" in attributes:
            self.inline_code.append(f"style attribute on <{tag}>")
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
        if tag == "style":
            self.inline_code.append("<style> element")
        for name in ("src", "href"):
            if attributes.get(name):
                self.urls.append(str(attributes[name]))
        if attributes.get("id") == "swagger-ui":
            self.data_url = attributes.get("data-url")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_code.append("inline script")


@pytest.fixture
def page(app: webtest.TestApp) -> tuple[webtest.TestResponse, _Page]:
    response = app.get("/api/v1/docs")
    parser = _Page()
    parser.feed(response.text)
    return response, parser


def test_docs_page_is_html_under_the_strict_csp(page: tuple[webtest.TestResponse, _Page]) -> None:
    response, parsed = page
    assert response.content_type == "text/html"
    assert response.headers["Content-Security-Policy"] == HTML_CSP
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    # script-src 'self' and style-src 'self': nothing inline would run or apply.
    assert parsed.inline_code == []
    assert parsed.handlers == []
    assert [script.get("src", "").split("?")[0] for script in parsed.scripts] == [
        "/api/v1/docs/assets/swagger-ui-bundle.js",
        "/api/v1/docs/assets/docs.js",
    ]
    assert parsed.data_url == "/api/v1/openapi.json"


def test_everything_the_page_loads_is_served_from_this_origin(
    app: webtest.TestApp, page: tuple[webtest.TestResponse, _Page]
) -> None:
    _, parsed = page
    assert parsed.urls, "the page loads its assets"
    for url in parsed.urls:
        assert url.startswith("/"), f"{url} is not on this origin"
        loaded = app.get(url, status=200)
        assert loaded.body
    # The bundle asks the CSP for nothing it refuses: no other origin in the init script.
    init = app.get("/api/v1/docs/assets/docs.js").text
    assert not re.search(r"https?://", init)


def test_assets_have_their_media_type_and_are_cacheable(app: webtest.TestApp) -> None:
    for name, media_type in sorted(ASSETS.items()):
        response = app.get(f"/api/v1/docs/assets/{name}", params={"v": __version__})
        assert response.content_type == media_type, name
        assert response.charset == "utf-8"
        assert response.headers["Cache-Control"] == "public, max-age=86400"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.body == files("benben.openapi").joinpath("static", name).read_bytes()
        again = app.get(
            f"/api/v1/docs/assets/{name}",
            headers={"If-None-Match": response.headers["ETag"]},
            status=304,
        )
        assert again.body == b""


def test_only_the_listed_assets_are_served(app: webtest.TestApp) -> None:
    for name in ("index.html", "..%2F__init__.py", "swagger-ui.js", "README.md"):
        response = app.get(f"/api/v1/docs/assets/{name}", status=404)
        assert response.content_type == PROBLEM_JSON


def test_swagger_ui_licence_ships_with_it() -> None:
    static = files("benben.openapi").joinpath("static")
    assert "Apache License" in static.joinpath("LICENSE").read_text(encoding="utf-8")
    bundle = static.joinpath("swagger-ui-bundle.js").read_text(encoding="utf-8")
    assert "swagger-ui-bundle.js.LICENSE.txt" in bundle.splitlines()[0]
