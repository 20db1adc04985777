"""The OpenAPI 3.1 document of a configured registry: every route, every method it serves.

Sources, all read from the committed configuration (core's and plugins' alike):

- the routes mapper: paths (route prefixes included) and their path parameters;
- the views introspector: which methods each route serves, under which permission;
- :class:`benben.rest.Service` operations (``service.operations[METHOD]``): summary, parameters,
  the *enforced* body schema, responses; plain views' operations from
  :func:`benben.openapi.operations.add_openapi_operation`.

A method that is served but documented nowhere still appears (with its view's docstring as its
summary), so the document never hides an endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pyramid.interfaces import IRoutesMapper
from pyramid.registry import Registry
from pyramid.security import NO_PERMISSION_REQUIRED

from benben.deprecation import Deprecation
from benben.rest import Operation, Parameter, Response
from benben.version import __version__

from .components import TAGS, base_components, problem_content
from .operations import OPERATIONS_KEY
from .schemas import SchemaComponents

__all__ = ["build_document", "openapi_path", "served_operations"]

OPENAPI_VERSION = "3.1.0"
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
BODY_METHODS = ("POST", "PUT", "PATCH")
# {name}, {name:regex} and the *remainder of a Pyramid route pattern.
_PLACEHOLDER = re.compile(r"\{(\w+)(?::((?:[^{}]|\{[^{}]*\})*))?\}|\*(\w+)\Z")
DESCRIPTION = """\
Benben's HTTP API: core's endpoints and those of the plugins enabled on this instance.

Generated from the running configuration (`GET /api/v1/openapi.json`): the request body schemas
shown are the ones requests are validated against. Every error is `application/problem+json`
(RFC 9457, the `Problem` schema); invalid input names each offending field in `errors`.
Authenticate with `Authorization: Bearer <token>`: an access token from `POST /api/v1/auth/login`
or a personal API token."""


def openapi_path(pattern: str) -> tuple[str, list[dict[str, Any]]]:
    """An OpenAPI path template and its path parameters, from a Pyramid route pattern."""
    parameters: list[dict[str, Any]] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        schema: dict[str, Any] = {"type": "string"}
        if match.group(2):
            schema["pattern"] = f"^{match.group(2)}$"
        elif match.group(3):
            schema["description"] = "The rest of the path."
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    path = _PLACEHOLDER.sub(replace, pattern)
    return ("/" + path.lstrip("/")), parameters


def served_operations(registry: Registry) -> dict[str, dict[str, str | None]]:
    """``{route name: {METHOD: permission or None}}`` of every view bound to a method."""
    introspector = registry.introspector
    served: dict[str, dict[str, str | None]] = {}
    for item in introspector.get_category("views") or []:
        intr = item["introspectable"]
        route_name = intr.get("route_name")
        methods = intr.get("request_methods")
        if not route_name or not methods:  # exception views, Cornice's fallback view
            continue
        permission = None
        for related in introspector.related(intr):
            if related.category_name == "permissions":
                permission = related["value"]
        if permission == NO_PERMISSION_REQUIRED:
            permission = None
        for method in (methods,) if isinstance(methods, str) else methods:
            served.setdefault(route_name, {}).setdefault(method.upper(), permission)
    return served


def _views_callables(
    registry: Registry,
) -> tuple[dict[tuple[str, str], Any], dict[tuple[str, str], Deprecation]]:
    """Each (route, method)'s view callable, and the deprecations of the views that have one
    (the view option ``deprecated``: what the responses announce is what the document says)."""
    callables: dict[tuple[str, str], Any] = {}
    deprecations: dict[tuple[str, str], Deprecation] = {}
    for item in registry.introspector.get_category("views") or []:
        intr = item["introspectable"]
        methods = intr.get("request_methods") or ()
        for method in (methods,) if isinstance(methods, str) else methods:
            key = (intr.get("route_name"), method.upper())
            callables.setdefault(key, intr.get("callable"))
            if isinstance(deprecated := intr.get("deprecated"), Deprecation):
                deprecations.setdefault(key, deprecated)
    return callables, deprecations


class _Builder:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.components = base_components()
        self.schemas = SchemaComponents(self.components["schemas"])
        self.operation_ids: set[str] = set()
        self.tags: dict[str, str] = {}
        self.plugins = [p for p in registry.get("benben.plugins", []) if p.status == "enabled"]

    def tag_description(self, tag: str) -> str:
        if tag in TAGS:
            return TAGS[tag]
        plugin = next((p for p in self.plugins if p.name == tag), None)
        return plugin.metadata.description if plugin is not None else ""

    def default_tags(self, pattern: str) -> list[str]:
        for plugin in self.plugins:
            prefix = plugin.route_prefix.rstrip("/")
            if prefix and (pattern == prefix or pattern.startswith(prefix + "/")):
                return [plugin.name]
        return []

    def unique_id(self, wanted: str) -> str:
        candidate, number = wanted, 1
        while candidate in self.operation_ids:
            number += 1
            candidate = f"{wanted}_{number}"
        self.operation_ids.add(candidate)
        return candidate

    def operation(
        self,
        route_name: str,
        path: str,
        path_parameters: list[dict[str, Any]],
        doc: Operation,
        permission: str | None,
        view: Any,
    ) -> dict[str, Any]:
        method = doc.method
        pointer = f"/paths/{_escape(path)}/{method.lower()}"
        result: dict[str, Any] = {}
        tags = list(doc.tags) or self.default_tags(path)
        if tags:
            result["tags"] = tags
            for tag in tags:
                self.tags.setdefault(tag, self.tag_description(tag))
        summary = doc.summary or _first_line(getattr(view, "__doc__", None))
        if summary:
            result["summary"] = summary
        if doc.description:
            result["description"] = doc.description
        wanted_id = doc.operation_id or _operation_id(method, route_name)
        result["operationId"] = self.unique_id(wanted_id)
        result["parameters"] = self.parameters(path_parameters, doc.parameters, pointer)
        if doc.body_schemas is not None:
            result["requestBody"] = {
                "required": True,
                "content": {
                    media: {"schema": self.schemas.place(
                        schema, f"{pointer}/requestBody/content/{_escape(media)}/schema")}
                    for media, schema in doc.body_schemas.items()
                },
            }  # fmt: skip
        elif doc.body_schema is not None:
            schema = self.schemas.place(doc.body_schema, f"{pointer}/requestBody/content/"
                                        f"{_escape(doc.body_media_types[0])}/schema")  # fmt: skip
            result["requestBody"] = {
                "required": True,
                "content": {media: {"schema": schema} for media in doc.body_media_types},
            }
        result["responses"] = self.responses(doc, path_parameters, permission, pointer)
        if permission is not None:
            result["security"] = [{"bearer": []}]
            result["x-benben-permission"] = permission
        return result

    def parameters(
        self, path_parameters: list[dict[str, Any]], declared: Iterable[Parameter], pointer: str
    ) -> list[dict[str, Any]]:
        declared = list(declared)
        own = {(p.name, p.location) for p in declared}
        parameters = [p for p in path_parameters if (p["name"], "path") not in own]
        for parameter in declared:
            entry: dict[str, Any] = {
                "name": parameter.name,
                "in": parameter.location,
                "required": parameter.required or parameter.location == "path",
                "schema": self.schemas.place(
                    parameter.schema, f"{pointer}/parameters/{len(parameters)}/schema"
                ),
            }
            if parameter.description:
                entry["description"] = parameter.description
            parameters.append(entry)
        parameters.append({"$ref": "#/components/parameters/RequestId"})
        return parameters

    def responses(
        self,
        doc: Operation,
        path_parameters: list[dict[str, Any]],
        permission: str | None,
        pointer: str,
    ) -> dict[str, Any]:
        responses: dict[str, Any] = {}
        for status in sorted(doc.responses):
            responses[str(status)] = self.response(status, doc.responses[status], pointer)
        if not any(200 <= status < 400 for status in doc.responses):
            responses["200"] = {"description": "Success."}
        takes_input = (
            doc.body_schema is not None
            or doc.body_schemas is not None
            or any(p.location in ("query", "header") for p in doc.parameters)
        )
        automatic = {
            400: takes_input,
            401: permission is not None,
            403: permission is not None,
            404: bool(path_parameters),
        }
        for status, applies in automatic.items():
            if applies and str(status) not in responses:
                responses[str(status)] = {
                    "description": _AUTOMATIC[status],
                    "content": problem_content(),
                }
        responses["default"] = {"$ref": "#/components/responses/Problem"}
        return dict(sorted(responses.items(), key=lambda item: (item[0] == "default", item[0])))

    def response(self, status: int, declared: Response | str, pointer: str) -> dict[str, Any]:
        if isinstance(declared, str):
            declared = Response(declared)
        entry: dict[str, Any] = {"description": declared.description}
        if declared.headers:
            entry["headers"] = {
                name: {"description": text, "schema": {"type": "string"}}
                for name, text in declared.headers.items()
            }
        media = declared.media_type
        if declared.schema is not None:
            location = f"{pointer}/responses/{status}/content/{_escape(media)}/schema"
            entry["content"] = {media: {"schema": self.schemas.place(declared.schema, location)}}
        elif media != "application/json":
            # A body no JSON Schema describes (a multi-document YAML stream, a download): its
            # media type is still documented; a schema would make clients parse it as one value.
            entry["content"] = {media: {}}
        elif status >= 400:
            entry["content"] = problem_content()
        return entry


_AUTOMATIC = {
    400: "Invalid request: `errors` names each offending field (`pointer` or `name`).",
    401: "No credential, or one that is invalid, expired or revoked (`WWW-Authenticate`).",
    403: "The credential (or its API token scopes) does not allow this.",
    404: "No such resource, or one the caller may not see.",
}


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    line = text.strip().splitlines()[0].strip()
    return line or None


def _operation_id(method: str, route_name: str) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", route_name) if w]
    return method.lower() + "".join(w[:1].upper() + w[1:] for w in words)


def _head_of(get: Operation) -> Operation:
    """HEAD answers as GET does, without a body."""
    responses: dict[int, Response | str] = {}
    for status, declared in get.responses.items():
        if isinstance(declared, Response):
            declared = Response(declared.description, None, declared.headers)
        responses[status] = declared
    operation_id = None
    if get.operation_id:  # getUser -> headUser, listUsers -> headListUsers
        rest = get.operation_id
        if rest.startswith("get") and rest[3:4].isupper():
            rest = rest[3:]
        operation_id = "head" + rest[:1].upper() + rest[1:]
    return Operation(
        method="HEAD",
        summary=f"{get.summary} (headers only)" if get.summary else None,
        description=get.description,
        operation_id=operation_id,
        tags=get.tags,
        parameters=get.parameters,
        responses=responses,
        permission=get.permission,
    )


def _mark_deprecated(operation: dict[str, Any], deprecation: Deprecation) -> None:
    """``deprecated: true``, the dates in the description, the headers on each response."""
    operation["deprecated"] = True
    text = deprecation.describe()
    operation["description"] = (
        f"{text}\n\n{operation['description']}" if operation.get("description") else text
    )
    headers = {
        "Deprecation": "When this operation was deprecated: `@` and a Unix time (RFC 9745).",
        "Sunset": "When it may stop answering, an HTTP-date (RFC 8594).",
        "Link": '`<url>; rel="deprecation"`: what to use instead (RFC 9745).',
    }
    present = {name for name, _ in deprecation.headers()}
    for status, response in operation["responses"].items():
        if status == "default" or "$ref" in response:
            continue
        documented = response.setdefault("headers", {})
        for name in (n for n in headers if n in present):
            if name in documented:  # the page's rel="next" Link: both may come
                documented[name]["description"] += f" Also: {headers[name]}"
            else:
                documented[name] = {"description": headers[name], "schema": {"type": "string"}}


def _strip_bodies(responses: dict[str, Any]) -> None:
    for entry in responses.values():
        entry.pop("content", None)
    responses["default"] = {"description": "Any other error (HEAD: the status and headers only)."}


def build_document(registry: Registry) -> dict[str, Any]:
    """The document of everything ``registry`` serves (without run-time contributions)."""
    builder = _Builder(registry)
    services = {
        (service.pyramid_route or service.name): service
        for service in getattr(registry, "cornice_services", {}).values()
    }
    plain: Mapping[tuple[str, str], Operation] = registry.get(OPERATIONS_KEY, {})
    served = served_operations(registry)
    callables, deprecations = _views_callables(registry)
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
        for method in sorted(methods, key=_method_rank):
            doc = documented.get(method) or plain.get((route.name, method))
            derived_head = False
            if doc is None and method == "HEAD":
                get = documented.get("GET") or plain.get((route.name, "GET"))
                if get is not None:
                    doc, derived_head = _head_of(get), True
            if doc is None:
                doc = Operation(method=method)
            view = callables.get((route.name, method))
            operation = builder.operation(
                route.name, path, path_parameters, doc, methods[method], view
            )
            if method == "HEAD" or derived_head:
                _strip_bodies(operation["responses"])
            if (deprecation := deprecations.get((route.name, method))) is not None:
                _mark_deprecated(operation, deprecation)
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


def _method_rank(method: str) -> int:
    return METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)


def _ordered_tags(tags: Mapping[str, str]) -> list[tuple[str, str]]:
    core = [(name, tags[name]) for name in TAGS if name in tags]
    return core + sorted((name, text) for name, text in tags.items() if name not in TAGS)
