"""``GET /api/v1/openapi.json``, ``GET /api/v1/docs`` and the docs page's assets."""

from __future__ import annotations

import hashlib
import html
from importlib.resources import files
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response

from benben.version import __version__

from .document import document, render

__all__ = ["ASSETS", "SWAGGER_UI_VERSION", "asset_view", "docs_view", "openapi_view"]

SWAGGER_UI_VERSION = "5.35.0"
# What the docs page may load, with its media type: nothing else under the assets route exists.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "docs.js": "text/javascript",
    "docs.css": "text/css",
    "LICENSE": "text/plain",
    "NOTICE": "text/plain",
    "swagger-ui-bundle.js.LICENSE.txt": "text/plain",
}
ASSETS_CACHE_SECONDS = 86400
ASSETS_KEY = "benben.openapi.assets"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Benben API</title>
<link rel="stylesheet" href="{css}">
<link rel="stylesheet" href="{own_css}">
</head>
<body>
<header class="benben-docs-header">Benben {version} &middot; <a href="{url}">OpenAPI document</a>
</header>
<main id="swagger-ui" data-url="{url}"></main>
<script src="{bundle}"></script>
<script src="{init}"></script>
</body>
</html>
"""


def openapi_view(request: Request) -> Response:
    body = render(document(request))
    response = Response(body=body, content_type="application/json", charset=None)
    response.etag = hashlib.sha256(body).hexdigest()[:32]
    response.conditional_response = True  # If-None-Match: 304
    response.vary = ("Authorization",)  # the collections listed depend on the caller
    if "Authorization" not in request.headers:
        response.cache_control = "no-cache"
    return response


def docs_view(request: Request) -> Response:
    def asset(name: str) -> str:
        # The version in the URL: a new release is never served a stale cached asset.
        return request.route_path("api.docs.asset", name=name, _query={"v": __version__})

    page = PAGE.format(
        css=html.escape(asset("swagger-ui.css")),
        own_css=html.escape(asset("docs.css")),
        bundle=html.escape(asset("swagger-ui-bundle.js")),
        init=html.escape(asset("docs.js")),
        url=html.escape(request.route_path("api.openapi")),
        version=html.escape(__version__),
    )
    response = Response(page, content_type="text/html", charset="utf-8")
    response.cache_control = "no-cache"
    return response


def asset_view(request: Request) -> Response:
    name = request.matchdict["name"]
    if name not in ASSETS:
        raise HTTPNotFound()
    body, etag = _asset(request, name)
    media_type = ASSETS[name]
    response = Response(
        body=body,
        content_type=media_type,
        charset="utf-8",
        conditional_response=True,
    )
    response.etag = etag
    response.cache_control = f"public, max-age={ASSETS_CACHE_SECONDS}"
    return response


def _asset(request: Request, name: str) -> tuple[bytes, str]:
    """The file's bytes and ETag, read once per registry (the package's files do not change
    while it runs)."""
    cache: dict[str, Any] = request.registry.setdefault(ASSETS_KEY, {})
    if name not in cache:
        body = files("benben.openapi").joinpath("static", name).read_bytes()
        cache[name] = (body, hashlib.sha256(body).hexdigest()[:32])
    return cache[name]
