"""The Backstage entities of this deployment: the instance, its API, and each enabled plugin.

Everything comes from the settings, the public URL and what the app runs.  What they reveal is
already public on the instance (``GET /version``, ``GET /api/v1/`` and its OpenAPI document,
which lists only what an anonymous caller may see): no secret, no internal address.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import yaml
from packaging.requirements import InvalidRequirement, Requirement

from benben.plugin import (
    PluginInfo,
    Registry,
    Request,
    core_version,
    enabled_plugins,
    openapi_document,
    public_url,
)

from .names import child_name, instance_name, is_valid_label_value
from .settings import BackstageSettings

__all__ = [
    "API_VERSION",
    "SETTINGS_KEY",
    "build_entities",
    "catalog_info_url",
    "dump_yaml",
    "names_for",
]

API_VERSION = "backstage.io/v1alpha1"
SETTINGS_KEY = "benben_backstage.settings"
ANNOTATION_PREFIX = "benben.io/"
PLUGIN_TYPE = "benben-plugin"


def names_for(settings: BackstageSettings, base_url: str) -> dict[str, str]:
    """The instance's and its API's entity names."""
    instance = settings.name or instance_name(base_url)
    return {"instance": instance, "api": child_name(instance, "api")}


def configured_public_url(registry: Registry) -> str:
    """``benben.public_url`` (core's setting), without a trailing slash; may be empty."""
    return str(registry.settings.get("benben.public_url") or "").strip().rstrip("/")


def catalog_info_url(registry: Registry) -> str:
    """Where Backstage reads this instance's entities; empty without ``benben.public_url``."""
    base = configured_public_url(registry)
    if not base:
        return ""
    request = Request.blank("/", base_url=base)
    request.registry = registry
    return request.route_url("backstage.catalog_info")


def build_entities(request: Request, settings: BackstageSettings) -> list[dict[str, Any]]:
    """Instance Component, its API, then one Component per enabled plugin, by name."""
    base = public_url(request)
    names = names_for(settings, base)
    version = core_version()
    title = settings.title or f"Benben at {urlsplit(base).netloc or base}"
    document = openapi_document(request)
    plugins = enabled_plugins(request.registry)
    entities = [
        _instance(settings, names, base, title, version, document),
        _api(settings, names, base, title, version, document),
        *(_plugin(settings, names, plugin) for plugin in plugins),
    ]
    for entity in entities:
        if not entity["metadata"]["labels"]:
            del entity["metadata"]["labels"]
    return entities


def _common_spec(settings: BackstageSettings) -> dict[str, Any]:
    spec: dict[str, Any] = {"lifecycle": settings.lifecycle, "owner": settings.owner}
    if settings.system:
        spec["system"] = settings.system
    return spec


def _metadata(name: str, title: str, description: str, version: str) -> dict[str, Any]:
    """The common start of ``metadata``; a version such as 1.0.0+local is no label value, so
    the annotation always carries it and the label only when it can."""
    labels = {f"{ANNOTATION_PREFIX}version": version} if is_valid_label_value(version) else {}
    return {
        "name": name,
        "title": title,
        "description": description,
        "labels": labels,
        "annotations": {f"{ANNOTATION_PREFIX}version": version},
    }


def _instance(
    settings: BackstageSettings,
    names: dict[str, str],
    base: str,
    title: str,
    version: str,
    document: dict[str, Any],
) -> dict[str, Any]:
    metadata = _metadata(
        names["instance"], title, f"A Benben {version} instance at {base}.", version
    )
    annotations = metadata["annotations"]
    annotations[f"{ANNOTATION_PREFIX}public-url"] = base
    optional = {
        "backstage.io/source-location": settings.source_location,
        "backstage.io/techdocs-entity": settings.techdocs_entity,
        "backstage.io/kubernetes-id": settings.kubernetes_id,
        "backstage.io/kubernetes-namespace": settings.kubernetes_namespace,
        "backstage.io/kubernetes-label-selector": settings.kubernetes_label_selector,
    }
    annotations.update({key: value for key, value in optional.items() if value})
    metadata["tags"] = list(settings.tags)
    metadata["links"] = _links(settings, base, document)
    spec = {"type": "service", **_common_spec(settings), "providesApis": [names["api"]]}
    return {"apiVersion": API_VERSION, "kind": "Component", "metadata": metadata, "spec": spec}


def _links(
    settings: BackstageSettings, base: str, document: dict[str, Any]
) -> list[dict[str, str]]:
    paths = document.get("paths", {})
    links = [
        {"url": f"{base}/api/v1/docs", "title": "API explorer", "icon": "web"},
        {"url": f"{base}/api/v1/openapi.json", "title": "OpenAPI document", "icon": "docs"},
        {"url": f"{base}/health/ready", "title": "Readiness", "icon": "dashboard"},
    ]
    if "/metrics" in paths:  # served by this instance (and so documented)
        links.append({"url": f"{base}/metrics", "title": "Metrics", "icon": "dashboard"})
    techdocs = _techdocs_url(settings)
    if techdocs:
        links.append({"url": techdocs, "title": "Documentation (TechDocs)", "icon": "docs"})
    return links


def _techdocs_url(settings: BackstageSettings) -> str:
    if settings.techdocs_url or not (settings.url and settings.techdocs_entity):
        return settings.techdocs_url
    kind, _, rest = settings.techdocs_entity.rpartition(":")
    namespace, _, name = rest.rpartition("/")
    return f"{settings.url}/docs/{namespace or 'default'}/{(kind or 'component').lower()}/{name}"


def _api(
    settings: BackstageSettings,
    names: dict[str, str],
    base: str,
    title: str,
    version: str,
    document: dict[str, Any],
) -> dict[str, Any]:
    # The document as this instance serves it, with the public URL as its server: paths are
    # absolute from the instance's root.
    definition = {**document, "servers": [{"url": base}]}
    description = (
        f"The HTTP API of the Benben instance at {base}: core's and its plugins' endpoints, "
        "from its live OpenAPI document."
    )
    metadata = _metadata(names["api"], f"{title}: HTTP API", description, version)
    metadata["annotations"][f"{ANNOTATION_PREFIX}public-url"] = base
    metadata["tags"] = list(settings.tags)
    metadata["links"] = [
        {"url": f"{base}/api/v1/openapi.json", "title": "OpenAPI document", "icon": "docs"},
        {"url": f"{base}/api/v1/docs", "title": "API explorer", "icon": "web"},
    ]
    spec = {
        "type": "openapi",
        **_common_spec(settings),
        "definition": json.dumps(definition, indent=2, ensure_ascii=False) + "\n",
    }
    return {"apiVersion": API_VERSION, "kind": "API", "metadata": metadata, "spec": spec}


def _plugin_entity_name(instance: str, plugin: str) -> str:
    return child_name(instance, plugin.replace("_", "-"))


def _plugin(
    settings: BackstageSettings, names: dict[str, str], plugin: PluginInfo
) -> dict[str, Any]:
    instance = names["instance"]
    description = (
        plugin.metadata.description
        or f"The {plugin.name} plugin of the Benben instance {instance}."
    )
    metadata = _metadata(
        _plugin_entity_name(instance, plugin.name),
        f"{plugin.name} {plugin.version}",
        description,
        plugin.version,
    )
    if is_valid_label_value(plugin.name):
        metadata["labels"][f"{ANNOTATION_PREFIX}plugin"] = plugin.name
    metadata["annotations"][f"{ANNOTATION_PREFIX}plugin"] = plugin.name
    if plugin.distribution:
        metadata["annotations"][f"{ANNOTATION_PREFIX}distribution"] = plugin.distribution
    metadata["tags"] = ["benben-plugin"]
    spec: dict[str, Any] = {
        "type": PLUGIN_TYPE,
        "lifecycle": settings.lifecycle,
        "owner": settings.owner,
        "subcomponentOf": f"component:default/{instance}",
    }
    requires = sorted({_requirement_name(text) for text in plugin.metadata.requires} - {""})
    if requires:
        spec["dependsOn"] = [
            f"component:default/{_plugin_entity_name(instance, name)}" for name in requires
        ]
    return {"apiVersion": API_VERSION, "kind": "Component", "metadata": metadata, "spec": spec}


def _requirement_name(text: str) -> str:
    try:
        return Requirement(text).name.replace("-", "_").lower()
    except InvalidRequirement:  # the loader refuses these before a plugin is enabled
        return ""


class _Dumper(yaml.SafeDumper):
    """Block style; multi-line strings (the API definition) as literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(entities: list[dict[str, Any]]) -> str:
    """A multi-document YAML stream, one entity per document, as catalog-info.yaml files are."""
    return yaml.dump_all(
        entities,
        Dumper=_Dumper,
        sort_keys=False,
        explicit_start=True,
        allow_unicode=True,
        default_flow_style=False,
        width=1000,
    )
