"""Whether a new OpenAPI document breaks clients written against an old one.

``python -m benben.openapi.compat [OLD NEW]`` prints one line per break and exits 1 when there
is any (0: compatible; 2: a file could not be read).  Without arguments it compares the v1
baseline, ``docs/api/openapi-v1-baseline.json``, with ``docs/api/openapi.json``.

What breaks a client (see docs/api-stability.md, which this enforces):

- a path, or an operation (method of a path), removed; an ``operationId`` changed (generated
  clients name their methods after it);
- a success response (2xx, 3xx) removed, or one of its media types or documented headers;
- in a response: a property removed, no longer always present (``required`` dropped), or its
  type changed (new values a client would not expect, ``null`` included); an enum value
  removed.  Responses may *add* properties and enum values: clients must ignore the unknown;
- in a request (body or parameter): a parameter removed or become required, a property become
  required or no longer accepted, a type narrowed, an enum value removed, a bound tightened
  (``maxLength``, ``maximum``, ``maxItems``...), ``additionalProperties`` closed.

Schemas are compared through local ``$ref`` (``#/components/...``), ``allOf`` (merged), array
``items``, ``additionalProperties`` schemas and ``anyOf``/``oneOf`` alternatives (by position,
when both documents have as many).  A component compared once is not compared again, so a
break in a shared schema is one line, named after the component.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["BASELINE", "CURRENT", "breaking_changes", "main"]

BASELINE = Path("docs") / "api" / "openapi-v1-baseline.json"
CURRENT = Path("docs") / "api" / "openapi.json"
METHODS = ("get", "head", "post", "put", "patch", "delete", "options", "trace")
Schema = Mapping[str, Any]
# Bounds a request may loosen, never tighten: (keyword, True when a larger value is tighter).
_LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
_UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _types(schema: Schema) -> set[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    return {declared} if isinstance(declared, str) else set(declared)


def _covered(types: set[str], by: set[str]) -> set[str]:
    """The members of ``types`` that ``by`` does not admit (an integer is a number)."""
    return {t for t in types if t not in by and not (t == "integer" and "number" in by)}


def _enum(schema: Schema) -> list[Any] | None:
    if "enum" in schema:
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    return None


class _Comparison:
    def __init__(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        self.old, self.new = old, new
        self.breaks: list[str] = []
        self.compared: set[tuple[str, str, str]] = set()

    def report(self, where: str, path: str, message: str) -> None:
        self.breaks.append(f"{where}: {path + ' ' if path else ''}{message}")

    # -- references -------------------------------------------------------------------------

    @staticmethod
    def resolve(document: Mapping[str, Any], node: Any) -> Any:
        seen: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#/") or ref in seen:
                return {}  # outside the document, or a loop: nothing to compare
            seen.add(ref)
            target: Any = document
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, Mapping) else None
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if isinstance(target, Mapping) else {}
        return node

    def flatten(self, document: Mapping[str, Any], schema: Any) -> dict[str, Any]:
        """The schema with ``$ref`` followed and ``allOf`` merged into one set of keywords."""
        schema = self.resolve(document, schema)
        if not isinstance(schema, Mapping):
            return {}
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema.get("allOf", ()):
            part = self.flatten(document, part)
            merged["properties"] = {**part.get("properties", {}), **merged.get("properties", {})}
            merged["required"] = sorted({*part.get("required", ()), *merged.get("required", ())})
            for keyword, value in part.items():
                merged.setdefault(keyword, value)
        return merged

    # -- schemas ----------------------------------------------------------------------------

    def schema(self, where: str, path: str, old: Any, new: Any, direction: str) -> None:
        """Compare two schemas; ``direction`` is ``response`` (what the server sends) or
        ``request`` (what it accepts)."""
        old_ref = old.get("$ref") if isinstance(old, Mapping) else None
        new_ref = new.get("$ref") if isinstance(new, Mapping) else None
        if old_ref is not None and new_ref is not None:
            key = (old_ref, new_ref, direction)
            if key in self.compared:
                return
            self.compared.add(key)
            if old_ref == new_ref and old_ref.startswith("#/components/"):
                # A shared component: its breaks are named after it, once.
                where, path = old_ref[2:] + f" ({direction})", ""
        o, n = self.flatten(self.old, old), self.flatten(self.new, new)
        if direction == "response":
            self.response_schema(where, path, o, n)
        else:
            self.request_schema(where, path, o, n)
        self.children(where, path, o, n, direction)

    def response_schema(self, where: str, path: str, o: Schema, n: Schema) -> None:
        old_types, new_types = _types(o), _types(n)
        if old_types is not None and new_types is not None:
            if extra := _covered(new_types, old_types):
                self.report(where, path, f"type changed from {_show(old_types)} to "
                            f"{_show(new_types)} ({_show(extra)} unexpected)")  # fmt: skip
        elif old_types is not None and not any(k in n for k in ("anyOf", "oneOf")):
            self.report(where, path, f"type {_show(old_types)} no longer declared")
        self.enum_values(where, path, o, n)
        new_required = set(n.get("required", ()))
        for name in o.get("required", ()):
            if name not in new_required and name in n.get("properties", {}):
                self.report(where, f"{path}/{name}", "may now be absent (no longer required)")

    def request_schema(self, where: str, path: str, o: Schema, n: Schema) -> None:
        old_types, new_types = _types(o), _types(n)
        if new_types is not None:
            lost = _covered(old_types, new_types) if old_types is not None else {"any"}
            if lost:
                self.report(where, path, f"type narrowed from {_show(old_types or lost)} to "
                            f"{_show(new_types)}")  # fmt: skip
        self.enum_values(where, path, o, n)
        old_required = set(o.get("required", ()))
        for name in n.get("required", ()):
            if name not in old_required:
                self.report(where, f"{path}/{name}", "became required")
        if n.get("additionalProperties") is False:
            # Members the old schema named or let through are refused now.
            for name in sorted(set(o.get("properties", {})) - set(n.get("properties", {}))):
                self.report(where, f"{path}/{name}", "no longer accepted")
            if o.get("additionalProperties") is not False:
                self.report(where, path, "no longer accepts members it does not name")
        for keyword in (*_LOWER_BOUNDS, *_UPPER_BOUNDS):
            if keyword not in n or not isinstance(n[keyword], int | float):
                continue
            before = o.get(keyword)
            tighter = before is None or (
                n[keyword] > before if keyword in _LOWER_BOUNDS else n[keyword] < before
            )
            if tighter:
                change = "added" if before is None else f"tightened from {before} to"
                self.report(where, path, f"{keyword} {change} {n[keyword]}")
        if "pattern" in n and n["pattern"] != o.get("pattern"):
            self.report(where, path, f"pattern changed to {n['pattern']!r}")

    def enum_values(self, where: str, path: str, o: Schema, n: Schema) -> None:
        old_values, new_values = _enum(o), _enum(n)
        if old_values is None or new_values is None:
            return
        kept = {_key(v) for v in new_values}
        for value in old_values:
            if _key(value) not in kept:
                self.report(where, path, f"enum value {_key(value)} removed")

    def children(self, where: str, path: str, o: Schema, n: Schema, direction: str) -> None:
        old_properties, new_properties = o.get("properties", {}), n.get("properties", {})
        for name, old_property in old_properties.items():
            if name in new_properties:
                self.schema(where, f"{path}/{name}", old_property, new_properties[name],
                            direction)  # fmt: skip
            elif direction == "response":
                self.report(where, f"{path}/{name}", "removed")
        if isinstance(o.get("items"), Mapping) and isinstance(n.get("items"), Mapping):
            self.schema(where, f"{path}/*", o["items"], n["items"], direction)
        old_extra, new_extra = o.get("additionalProperties"), n.get("additionalProperties")
        if isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
            self.schema(where, f"{path}/*", old_extra, new_extra, direction)
        for keyword in ("anyOf", "oneOf"):
            old_options, new_options = o.get(keyword), n.get(keyword)
            if isinstance(old_options, list) and isinstance(new_options, list):
                if len(old_options) == len(new_options):
                    for index, (a, b) in enumerate(zip(old_options, new_options, strict=True)):
                        self.schema(where, f"{path}({keyword}[{index}])", a, b, direction)
                elif direction == "request" and len(new_options) < len(old_options):
                    self.report(where, path, f"{keyword} has fewer alternatives")

    # -- operations -------------------------------------------------------------------------

    def document(self) -> list[str]:
        old_paths, new_paths = self.old.get("paths", {}), self.new.get("paths", {})
        for path, old_item in old_paths.items():
            if path not in new_paths:
                self.breaks.append(f"{path}: path removed")
                continue
            old_item = self.resolve(self.old, old_item)
            new_item = self.resolve(self.new, new_paths[path])
            for method in METHODS:
                if method not in old_item:
                    continue
                where = f"{method.upper()} {path}"
                if method not in new_item:
                    self.breaks.append(f"{where}: operation removed")
                    continue
                self.operation(where, old_item, new_item, method)
        return self.breaks

    def operation(self, where: str, old_item: Schema, new_item: Schema, method: str) -> None:
        old_op, new_op = old_item[method], new_item[method]
        if "operationId" in old_op and new_op.get("operationId") != old_op["operationId"]:
            self.breaks.append(f"{where}: operationId {old_op['operationId']!r} changed to "
                               f"{new_op.get('operationId')!r}")  # fmt: skip
        old_parameters = [*old_item.get("parameters", ()), *old_op.get("parameters", ())]
        new_parameters = [*new_item.get("parameters", ()), *new_op.get("parameters", ())]
        self.parameters(where, old_parameters, new_parameters)
        self.request_body(where, old_op.get("requestBody"), new_op.get("requestBody"))
        old_responses, new_responses = old_op.get("responses", {}), new_op.get("responses", {})
        for status, old_response in old_responses.items():
            if status not in new_responses:
                if status[:1] in ("2", "3"):
                    self.breaks.append(f"{where}: response {status} removed")
                continue
            self.response(f"{where} {status}", old_response, new_responses[status])

    def parameters(self, where: str, old: Sequence[Any], new: Sequence[Any]) -> None:
        old_by_key = dict(self.keyed(self.old, old))
        new_by_key = dict(self.keyed(self.new, new))
        for key, parameter in old_by_key.items():
            label = f"{key[1]} parameter {key[0]!r}"
            if key not in new_by_key:
                self.breaks.append(f"{where}: {label} removed")
                continue
            replacement = new_by_key[key]
            if replacement.get("required") and not parameter.get("required"):
                self.breaks.append(f"{where}: {label} became required")
            old_schema = self.resolve(self.old, parameter.get("schema", {}))
            if key[1] == "path" and isinstance(old_schema, Mapping):
                # A path segment is never empty: minLength 1 there narrows nothing.
                old_schema = {"minLength": 1, **old_schema}
            self.schema(f"{where} {label}", "", old_schema, replacement.get("schema", {}),
                        "request")  # fmt: skip
        for key, parameter in new_by_key.items():
            if key not in old_by_key and parameter.get("required"):
                self.breaks.append(f"{where}: new required {key[1]} parameter {key[0]!r}")

    def keyed(
        self, document: Mapping[str, Any], parameters: Sequence[Any]
    ) -> Iterator[tuple[tuple[str, str], Schema]]:
        for parameter in parameters:
            parameter = self.resolve(document, parameter)
            if isinstance(parameter, Mapping) and "name" in parameter:
                # Header names are case-insensitive; the others are not.
                name = parameter["name"]
                location = parameter.get("in", "")
                yield ((name.lower() if location == "header" else name, location), parameter)

    def request_body(self, where: str, old: Any, new: Any) -> None:
        old, new = self.resolve(self.old, old or {}), self.resolve(self.new, new or {})
        if not new:
            return
        if not old:
            if new.get("required"):
                self.breaks.append(f"{where}: a request body became required")
            return
        if new.get("required") and not old.get("required"):
            self.breaks.append(f"{where}: the request body became required")
        new_content = new.get("content", {})
        for media, old_media in old.get("content", {}).items():
            if media not in new_content:
                self.breaks.append(f"{where}: request media type {media} no longer accepted")
                continue
            self.schema(f"{where} request {media}", "", old_media.get("schema", {}),
                        new_content[media].get("schema", {}), "request")  # fmt: skip

    def response(self, where: str, old: Any, new: Any) -> None:
        old, new = self.resolve(self.old, old), self.resolve(self.new, new)
        success = where.rsplit(" ", 1)[-1][:1] in ("2", "3")
        new_headers = {name.lower() for name in new.get("headers", {})}
        for name in old.get("headers", {}):
            if name.lower() not in new_headers:
                self.breaks.append(f"{where}: header {name} no longer documented")
        new_content = new.get("content", {})
        for media, old_media in old.get("content", {}).items():
            if media not in new_content:
                if success:
                    self.breaks.append(f"{where}: media type {media} removed")
                continue
            self.schema(f"{where} {media}", "", old_media.get("schema", {}),
                        new_content[media].get("schema", {}), "response")  # fmt: skip


def _show(types: set[str]) -> str:
    return "|".join(sorted(types))


def breaking_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Each way ``new`` breaks a client written against ``old``, one line each, in order."""
    return list(dict.fromkeys(_Comparison(old, new).document()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benben.openapi.compat",
        description="Print each way NEW breaks clients of OLD, one per line; exit 1 if any.",
    )
    parser.add_argument("old", nargs="?", type=Path, default=BASELINE,
                        help=f"the promised document (default: {BASELINE})")  # fmt: skip
    parser.add_argument("new", nargs="?", type=Path, default=CURRENT,
                        help=f"the document to check (default: {CURRENT})")  # fmt: skip
    arguments = parser.parse_args(argv)
    documents = []
    for path in (arguments.old, arguments.new):
        try:
            documents.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            print(f"{path}: cannot read an OpenAPI document: {exc}", file=sys.stderr)
            return 2
    breaks = breaking_changes(*documents)
    for line in breaks:
        print(line)
    if breaks:
        print(f"{len(breaks)} incompatible change(s) from {arguments.old} to {arguments.new}",
              file=sys.stderr)  # fmt: skip
    return 1 if breaks else 0


if __name__ == "__main__":
    sys.exit(main())
