"""``GET /client/<file>``: the JavaScript client (``clients/js/``), served by every instance so
that a browser page (the admin console, an application) imports the client that matches the
server: ``import { Benben } from "/client/benben.js"``.

The files here are copies of ``clients/js/`` written by ``python -m benben.client`` (which also
regenerates the client's data types from the OpenAPI document); ``--check`` fails when they are
stale, and CI runs it.
"""

from __future__ import annotations

import hashlib
from importlib.resources import files

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response

__all__ = ["CACHE_CONTROL", "FILES", "ROUTE", "client_file_view", "includeme"]

ROUTE = "client.file"
# Every file the client is made of, with its media type: nothing else is served under /client/.
# benben.js imports the other modules by relative URL, so they are served beside it.
FILES = {
    "benben.js": "application/javascript",
    "benben-errors.js": "application/javascript",
    "benben-query.js": "application/javascript",
    "benben-realtime.js": "application/javascript",
    "benben-resources.js": "application/javascript",
    "benben-sse.js": "application/javascript",
    "benben.d.ts": "application/typescript",
    "benben-types.d.ts": "application/typescript",
}
# Revalidated on every use (a cheap 304): the client must change with the server it talks to,
# at once after an upgrade, and its URL carries no version.
CACHE_CONTROL = "public, no-cache"
_CACHE_KEY = "benben.client.files"


def client_file_view(request: Request) -> Response:
    name = request.matchdict["name"]
    if name not in FILES:
        raise HTTPNotFound()
    cache: dict[str, tuple[bytes, str]] = request.registry.setdefault(_CACHE_KEY, {})
    if name not in cache:  # the package's files do not change while it runs
        body = files("benben.client").joinpath(name).read_bytes()
        cache[name] = (body, hashlib.sha256(body).hexdigest()[:32])
    body, etag = cache[name]
    response = Response(
        body=body, content_type=FILES[name], charset="utf-8", conditional_response=True
    )
    response.etag = etag
    response.cache_control = CACHE_CONTROL
    return response


def includeme(config: Configurator) -> None:
    from benben.openapi.operations import add_openapi_operation
    from benben.rest import Parameter
    from benben.rest import Response as Documented

    config.add_route(ROUTE, "/client/{name}")
    config.add_ratelimit_exemption("/client/")  # fixed files, loaded with every console page
    config.add_view(client_file_view, route_name=ROUTE, request_method="GET")
    add_openapi_operation(
        config,
        ROUTE,
        "GET",
        operation_id="getClientFile",
        tags=["api"],
        summary="The JavaScript client (an ES module) and its TypeScript declarations",
        description='`import { Benben } from "/client/benben.js"` in a browser or Node 20+; '
        "`benben.d.ts` declares its API.",
        parameters=[Parameter("name", "path", {"type": "string", "enum": sorted(FILES)})],
        responses={
            200: Documented(
                "The file.",
                {"type": "string"},
                {"ETag": "The file's version."},
                "application/*",
            ),
            304: "Not modified (`If-None-Match` matched the `ETag`).",
        },
    )
