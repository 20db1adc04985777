"""One operation of the document: tags, summary, parameters, request body, responses (the
automatic 400/401/403/404 included), schemas placed as components; a GET's HEAD twin, and what a
deprecation adds."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pyramid.registry import Registry

from benben.deprecation import Deprecation
from benben.plugins.installed import enabled_plugins
from benben.rest import Operation, Parameter, Response

from .components import TAGS, base_components, problem_content
from .schemas import SchemaComponents

__all__ = ["OperationBuilder", "head_of", "mark_deprecated", "strip_bodies"]


class OperationBuilder:
    """Builds the operations of one document: operation ids stay unique, tags and schemas
    are collected as it goes."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.components = base_components()
        self.schemas = SchemaComponents(self.components["schemas"])
        self.operation_ids: set[str] = set()
        self.tags: dict[str, str] = {}
        self.plugins = enabled_plugins(registry)

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


def head_of(get: Operation) -> Operation:
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


def mark_deprecated(operation: dict[str, Any], deprecation: Deprecation) -> None:
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


def strip_bodies(responses: dict[str, Any]) -> None:
    for entry in responses.values():
        entry.pop("content", None)
    responses["default"] = {"description": "Any other error (HEAD: the status and headers only)."}
