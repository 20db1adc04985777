"""The OpenAPI 3.1 document of a configured registry: every route, every method it serves.

Sources, all read from the committed configuration (core's and plugins' alike):

- the routes mapper: paths (route prefixes included) and their path parameters;
- the views introspector: which methods each route serves, under which permission;
- :class:`benben.rest.Service` operations (``service.operations[METHOD]``): summary, parameters,
  the *enforced* body schema, responses; plain views' operations from
  :func:`benben.openapi.operations.add_openapi_operation`.

What is served comes from :mod:`.served`, each operation from :mod:`.builder`.  A method that
is served but documented nowhere still appears (with its view's docstring as its
summary), so the document never hides an endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyramid.interfaces import IRoutesMapper
from pyramid.registry import Registry

from benben.rest import Operation
from benben.version import __version__

from .builder import OperationBuilder, head_of, mark_deprecated, strip_bodies
from .components import TAGS
from .operations import OPERATIONS_KEY
from .served import method_rank, openapi_path, served_operations, view_callables

__all__ = ["build_document"]

OPENAPI_VERSION = "3.1.0"
DESCRIPTION = """\
Benben's HTTP API: core's endpoints and those of the plugins enabled on this instance.

Generated from the running configuration (`GET /api/v1/openapi.json`): the request body schemas
shown are the ones requests are validated against. Every error is `application/problem+json`
(RFC 9457, the `Problem` schema); invalid input names each offending field in `errors`.
Authenticate with `Authorization: Bearer <token>`: an access token from `POST /api/v1/auth/login`
or a personal API token."""


def build_document(registry: Registry) -> dict[str, Any]:
    """The document of everything ``registry`` serves (without run-time contributions)."""
    builder = OperationBuilder(registry)
    services = {
        (service.pyramid_route or service.name): service
        for service in getattr(registry, "cornice_services", {}).values()
    }
    plain: Mapping[tuple[str, str], Operation] = registry.get(OPERATIONS_KEY, {})
    served = served_operations(registry)
    callables, deprecations = view_callables(registry)
    mapper = registry.queryUtility(IRoutesMapper)
    paths: dict[str, Any] = {}
    for route in mapper.get_routes() if mapper is not None else ():
        methods = served.get(route.name)
        if not methods or getattr(route, "static", False):
            continue
        path, path_parameters = openapi_path(route.pattern)
        service = services.get(route.name)
        documented: Mapping[str, Operation] = getattr(service, "operations", {})
        item = paths.setdefault(path, {})
        if service is not None and getattr(service, "description", None):
            item.setdefault("description", service.description)
        for method in sorted(methods, key=method_rank):
            doc = documented.get(method) or plain.get((route.name, method))
            derived_head = False
            if doc is None and method == "HEAD":
                get = documented.get("GET") or plain.get((route.name, "GET"))
                if get is not None:
                    doc, derived_head = head_of(get), True
            if doc is None:
                doc = Operation(method=method)
            view = callables.get((route.name, method))
            operation = builder.operation(
                route.name, path, path_parameters, doc, methods[method], view
            )
            if method == "HEAD" or derived_head:
                strip_bodies(operation["responses"])
            if (deprecation := deprecations.get((route.name, method))) is not None:
                mark_deprecated(operation, deprecation)
            item[method.lower()] = operation
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Benben",
            "version": __version__,
            "summary": "A self-hosted, plugin-based REST data platform.",
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "tags": [
            {"name": name, "description": text} if text else {"name": name}
            for name, text in _ordered_tags(builder.tags)
        ],
        "paths": paths,
        "components": {**builder.components, "schemas": builder.schemas.schemas},
    }
    return document


def _ordered_tags(tags: Mapping[str, str]) -> list[tuple[str, str]]:
    core = [(name, tags[name]) for name in TAGS if name in tags]
    return core + sorted((name, text) for name, text in tags.items() if name not in TAGS)
