"""The OpenAPI 3.1 document of this instance, generated from its configuration, and its docs page.

- ``GET /api/v1/openapi.json``: every route core and the enabled plugins serve, every method,
  parameter, request body (the schema requests are validated against), response and problem;
  plus what contributors add at run time (each data collection's schema).
- ``GET /api/v1/docs``: Swagger UI on that document, from assets shipped in the package.

Directives (plugins use them; core packages included earlier call the functions of
:mod:`.operations` directly):

- ``config.add_openapi_operation(route_name, method, summary=..., responses=...)`` documents a
  plain Pyramid view (:class:`benben.rest.Service` views document themselves);
- ``config.add_openapi_contributor(fn)``: ``fn(request)`` returns ``{"paths", "components",
  "tags"}`` to merge into each answer.

``python -m benben.openapi`` writes core's document to ``docs/api/openapi.json``; ``--check``
fails when the committed file is stale.
"""

from __future__ import annotations

from pyramid.config import Configurator

from benben.rest import Parameter, Response

from .document import document, merge_contribution, static_document
from .generator import build_document
from .operations import add_openapi_contributor, add_openapi_operation

__all__ = [
    "add_openapi_contributor",
    "add_openapi_operation",
    "build_document",
    "document",
    "includeme",
    "merge_contribution",
    "static_document",
]

OPENAPI_OBJECT = {
    "type": "object",
    "description": "An OpenAPI 3.1 document.",
    "required": ["openapi", "info", "paths"],
    "properties": {"openapi": {"type": "string", "pattern": "^3\\.1\\."}},
}


def includeme(config: Configurator) -> None:
    from . import views

    config.add_directive("add_openapi_operation", add_openapi_operation)
    config.add_directive("add_openapi_contributor", add_openapi_contributor)
    config.add_route("api.openapi", "/api/v1/openapi.json")
    config.add_route("api.docs", "/api/v1/docs")
    config.add_route("api.docs.asset", "/api/v1/docs/assets/{name}")
    config.add_view(views.openapi_view, route_name="api.openapi", request_method="GET")
    config.add_view(views.docs_view, route_name="api.docs", request_method="GET")
    config.add_view(views.asset_view, route_name="api.docs.asset", request_method="GET")

    not_modified = "Not modified (`If-None-Match` matched the `ETag`)."
    config.add_openapi_operation(
        "api.openapi",
        "GET",
        operation_id="getOpenApiDocument",
        tags=["api"],
        summary="This OpenAPI document",
        description="Generated from this instance's configuration: core's endpoints and the "
        "enabled plugins'. Each data collection the caller may read adds its record schema "
        "as the component `Collection_<id>_Data`.",
        responses={
            200: Response("The document.", OPENAPI_OBJECT, {"ETag": "The document's version."}),
            304: not_modified,
        },
    )
    config.add_openapi_operation(
        "api.docs",
        "GET",
        operation_id="getApiDocs",
        tags=["api"],
        summary="Interactive API documentation (Swagger UI)",
        responses={200: Response("An HTML page.", {"type": "string"}, media_type="text/html")},
    )
    config.add_openapi_operation(
        "api.docs.asset",
        "GET",
        operation_id="getApiDocsAsset",
        tags=["api"],
        summary="A file of the documentation page",
        parameters=[Parameter("name", "path", {"type": "string", "enum": sorted(views.ASSETS)})],
        responses={
            200: Response(
                "The file.", {"type": "string"}, {"ETag": "The file's version."}, "text/*"
            ),
            304: not_modified,
        },
    )
    config.add_api_capability(
        "openapi", "This instance's OpenAPI 3.1 document", "/api/v1/openapi.json"
    )
