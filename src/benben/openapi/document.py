"""The served document: generated once per registry, plus run-time contributions per request."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from typing import Any

from pyramid.registry import Registry
from pyramid.request import Request

from .generator import build_document
from .operations import CONTRIBUTORS_KEY

__all__ = ["document", "merge_contribution", "render", "static_document"]

DOCUMENT_KEY = "benben.openapi.document"
log = logging.getLogger(__name__)


def static_document(registry: Registry) -> dict[str, Any]:
    """The generated document, built on first use: it depends only on the (committed)
    configuration.  Callers must not change it."""
    cached = registry.get(DOCUMENT_KEY)
    if cached is None:
        # Two first requests at once may both build it: the same result, harmlessly.
        cached = registry[DOCUMENT_KEY] = build_document(registry)
    return cached


def document(request: Request) -> dict[str, Any]:
    """What ``GET /api/v1/openapi.json`` answers to this request."""
    result = dict(static_document(request.registry))
    result["servers"] = [{"url": request.script_name or "/"}]
    contributors = request.registry.get(CONTRIBUTORS_KEY, {})
    for name, contributor in sorted(contributors.items()):
        contribution = contributor(request)
        if contribution:
            result = merge_contribution(result, contribution, source=name)
    return result


def merge_contribution(
    base: Mapping[str, Any], contribution: Mapping[str, Any], *, source: str = "contributor"
) -> dict[str, Any]:
    """``base`` with what ``contribution`` adds (paths, methods, components, tags); what ``base``
    has already is kept.  ``base`` itself is not changed."""
    result = dict(base)
    paths = dict(result.get("paths", {}))
    for path, item in contribution.get("paths", {}).items():
        merged = dict(paths.get(path, {}))
        for key, value in item.items():
            _add(merged, key, value, f"paths {path} {key}", source)
        paths[path] = merged
    result["paths"] = paths
    components = dict(result.get("components", {}))
    for section, entries in contribution.get("components", {}).items():
        merged = dict(components.get(section, {}))
        for name, value in entries.items():
            _add(merged, name, value, f"components {section} {name}", source)
        components[section] = merged
    result["components"] = components
    tags = list(result.get("tags", []))
    known = {tag["name"] for tag in tags}
    tags.extend(copy.deepcopy(t) for t in contribution.get("tags", []) if t["name"] not in known)
    result["tags"] = tags
    return result


def _add(target: dict[str, Any], key: str, value: Any, what: str, source: str) -> None:
    if key in target:
        if target[key] != value:
            log.warning("OpenAPI contributor %s: %s is already defined; ignored", source, what)
        return
    target[key] = copy.deepcopy(value)


def render(document: Mapping[str, Any]) -> bytes:
    """The document as JSON: sorted-free (the generator's order is meaningful), compact."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
