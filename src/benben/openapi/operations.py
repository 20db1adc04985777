"""What the OpenAPI document knows beyond Cornice services: plain views' operations, contributors.

Both are configuration actions (conflicts are reported, plugins cannot replace core's), usable as
directives once ``benben.openapi`` is included, and as plain functions by core packages included
before it::

    from benben.openapi.operations import add_openapi_operation
    add_openapi_operation(config, "version", "GET", summary="Versions", responses={200: ...})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request

from benben.rest import Operation, Parameter, Response

__all__ = [
    "CONTRIBUTORS_KEY",
    "OPERATIONS_KEY",
    "Contributor",
    "add_openapi_contributor",
    "add_openapi_operation",
]

OPERATIONS_KEY = "benben.openapi.operations"
CONTRIBUTORS_KEY = "benben.openapi.contributors"

Contributor = Callable[[Request], Mapping[str, Any]]

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def add_openapi_operation(
    config: Configurator,
    route_name: str,
    method: str,
    *,
    summary: str | None = None,
    description: str | None = None,
    operation_id: str | None = None,
    tags: Sequence[str] = (),
    parameters: Sequence[Parameter] = (),
    responses: Mapping[int, Response | str] | None = None,
) -> None:
    """Document ``method`` of a plain Pyramid view on ``route_name`` (Cornice services document
    themselves: see :mod:`benben.rest`).  The permission comes from the view's registration.

    Plain views do not validate bodies against a schema; a view with a body is best a
    :class:`benben.rest.Service`, whose ``body_schema`` is enforced and documented at once.
    """
    method = method.upper()
    if method not in HTTP_METHODS or not route_name:
        raise ConfigurationError(f"add_openapi_operation: bad route or method {method!r}")
    operation = Operation(
        method=method,
        summary=summary,
        description=description,
        operation_id=operation_id,
        tags=tuple(tags),
        parameters=tuple(parameters),
        responses=dict(responses or {}),
    )

    def register() -> None:
        config.registry.setdefault(OPERATIONS_KEY, {})[(route_name, method)] = operation

    discriminator = ("benben-openapi-operation", route_name, method)
    intr = config.introspectable(
        "benben openapi operations", discriminator[1:], f"{method} {route_name}", "operation"
    )
    intr.update(route_name=route_name, method=method, summary=summary, tags=list(tags))
    config.action(discriminator, register, introspectables=(intr,))


def add_openapi_contributor(config: Configurator, contributor: Contributor | str) -> None:
    """Add ``contributor(request) -> {"paths": {...}, "components": {...}, "tags": [...]}``,
    merged into every ``GET /api/v1/openapi.json`` answer (for what changes at run time, such as
    the data API's collections).  It adds: what the generated document has already wins."""
    contributor = config.maybe_dotted(contributor)
    if not callable(contributor):
        raise ConfigurationError("add_openapi_contributor needs a callable")
    name = f"{contributor.__module__}.{getattr(contributor, '__qualname__', contributor)}"

    def register() -> None:
        config.registry.setdefault(CONTRIBUTORS_KEY, {})[name] = contributor

    intr = config.introspectable("benben openapi contributors", name, name, "contributor")
    intr.update(name=name, callable=contributor)
    config.action(("benben-openapi-contributor", name), register, introspectables=(intr,))
