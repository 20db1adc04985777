"""Benben's Backstage plugin: this deployment in an organisation's Backstage software catalog.

- ``GET /backstage/catalog-info.yaml``: the entities of this instance (its Component, its API
  with the live OpenAPI document, a Component per enabled plugin), for Backstage to read;
- ``GET /backstage/entities``: the same, as JSON;
- ``benben backstage register|unregister|entities`` (:mod:`benben_backstage.cli`);
- optional registration when the server starts (``benben.backstage.register_on_startup``).

It uses only ``benben.plugin``, the public plugin API, as any third-party plugin does.
"""

from __future__ import annotations

from typing import Any

from pyramid.events import ApplicationCreated

from benben.plugin import (
    Configurator,
    PluginMetadata,
    Request,
    Response,
    plugin_settings,
)

from .entities import SETTINGS_KEY, build_entities, catalog_info_url, dump_yaml
from .settings import SETTINGS, BackstageSettings

__all__ = ["benben_plugin", "includeme"]

benben_plugin = PluginMetadata(
    api=1,
    description="This instance, its API and its plugins as entities of a Backstage catalog.",
    core=">=0.1,<1",
    settings=SETTINGS,
)

YAML_TYPE = "application/yaml"
ENTITY_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "backstage.io/v1alpha1"},
        "kind": {"enum": ["Component", "API"]},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {"type": "object"},
    },
}


def settings_of(request: Request) -> BackstageSettings:
    return request.registry[SETTINGS_KEY]


def catalog_info_view(request: Request) -> Any:
    """The entities of this instance, a multi-document YAML stream (a catalog-info.yaml)."""
    from pyramid.response import Response as PyramidResponse

    body = dump_yaml(build_entities(request, settings_of(request)))
    response = PyramidResponse(body=body.encode(), content_type=YAML_TYPE, charset="utf-8")
    # Backstage re-reads it on every refresh; the plugins or the API may have changed.
    response.cache_control = "no-cache"
    return response


def entities_view(request: Request) -> list[dict[str, Any]]:
    """The entities of this instance, as JSON."""
    request.response.cache_control = "no-cache"
    return build_entities(request, settings_of(request))


def _on_start(event: ApplicationCreated) -> None:
    registry = event.app.registry
    settings: BackstageSettings = registry[SETTINGS_KEY]
    if settings.register_on_startup:
        from .startup import start_registration

        start_registration(registry, settings, catalog_info_url(registry))


def includeme(config: Configurator) -> None:
    config.registry[SETTINGS_KEY] = BackstageSettings.from_settings(plugin_settings(config))
    config.add_route("backstage.catalog_info", "/catalog-info.yaml")
    config.add_route("backstage.entities", "/entities")
    config.add_view(catalog_info_view, route_name="backstage.catalog_info", request_method="GET")
    config.add_view(
        entities_view, route_name="backstage.entities", request_method="GET", renderer="json"
    )
    config.add_subscriber(_on_start, ApplicationCreated)
    public = (
        "Public: Backstage reads it without credentials. It holds what the instance already "
        "shows anyone (`/version`, `/api/v1/`, the OpenAPI document), no secret."
    )
    config.add_openapi_operation(
        "backstage.catalog_info",
        "GET",
        operation_id="getBackstageCatalogInfo",
        tags=["backstage"],
        summary="This instance's Backstage entities (catalog-info.yaml)",
        description="The Component of this instance, its API (with this instance's live OpenAPI "
        "document as definition) and a Component per enabled plugin, one YAML document each: "
        "the target `benben backstage register` registers. " + public,
        # No schema: one describes a single value, and a YAML stream is several documents (each
        # one item of `/backstage/entities`, whose JSON array the document does describe).
        responses={
            200: Response(
                "A multi-document YAML stream, one entity per document, in the order of "
                "`GET /backstage/entities`.",
                media_type=YAML_TYPE,
            )
        },
    )
    config.add_openapi_operation(
        "backstage.entities",
        "GET",
        operation_id="getBackstageEntities",
        tags=["backstage"],
        summary="This instance's Backstage entities, as JSON",
        description="What `/backstage/catalog-info.yaml` serves, as a JSON array. " + public,
        responses={200: Response("The entities.", {"type": "array", "items": ENTITY_SCHEMA})},
    )
