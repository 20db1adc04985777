"""The JSON Schema dialects Benben runs: jsonschema's validators, made safe for untrusted schemas.

- Regular expressions (``pattern``, ``patternProperties`` and what depends on them, the
  ``regex`` format) run on RE2: linear time, whatever the pattern and the text
  (:mod:`benben.jsonschema_keywords`).
- Nothing is ever fetched: validators resolve references in a registry whose ``retrieve``
  refuses every URI (jsonschema's default one downloads any ``http(s)`` reference, with no
  timeout).  The draft meta-schemas are local data that jsonschema adds to every registry.
- A validator keeps its class in every subschema.  jsonschema picks the class anew from the
  ``$schema`` of each subschema it enters (its own stock classes, on Python's ``re``); here the
  dialect is chosen once, from the root.

Draft 2020-12 is the default; draft 2019-09 and draft-07 are accepted when a schema's root
``$schema`` names them (:data:`DIALECTS`), each with its own keywords and meta-schema.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import re2
from attrs import fields
from jsonschema import Draft7Validator, Draft201909Validator, Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import extend
from referencing import Registry, Specification
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT7, DRAFT201909, DRAFT202012

from benben import jsonschema_keywords as keywords

__all__ = [
    "DEFAULT_DIALECT",
    "DIALECTS",
    "NO_FETCH",
    "Dialect",
    "body_validator",
    "dialect_of",
    "make_validator",
    "regex_error",
]


def _refuse(uri: str) -> Any:
    raise NoSuchResource(ref=uri)


# The only registry validators get: nothing outside the schema itself can be retrieved.
NO_FETCH: Registry[Any] = Registry(retrieve=_refuse)  # type: ignore[call-arg]


def regex_error(source: str) -> str | None:
    """Why RE2 refuses ``source`` as a pattern, or None when it compiles."""
    try:
        keywords.compile_pattern(source)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
    except (TypeError, ValueError) as exc:  # not text RE2 can read (a lone surrogate, say)
        return str(exc)
    return None


def _is_regex(instance: object) -> bool:
    return not isinstance(instance, str) or regex_error(instance) is None


def _format_checker(stock: Validator, *, with_regex: bool) -> Any:
    checker = type(stock.FORMAT_CHECKER)(formats=())
    checker.checkers = dict(stock.FORMAT_CHECKER.checkers)
    checker.checkers.pop("regex", None)
    if with_regex:
        checker.checks("regex")(_is_regex)
    return checker


def _pinned_evolve(self: Any, **changes: Any) -> Any:
    """jsonschema's ``evolve``, but never another class: a subschema's ``$schema`` (or the
    root's, reached again by ``$ref: "#"``) would otherwise select a stock validator."""
    cls = type(self)
    changes.setdefault("schema", self.schema)
    for alias, name in _init_fields(cls):
        if alias not in changes:
            changes[alias] = getattr(self, name)
    return cls(**changes)


@functools.cache
def _init_fields(cls: type) -> tuple[tuple[str, str], ...]:
    """(alias, attribute name) of each field ``cls.__init__`` takes: asked once per class, as
    a record's validation evolves a validator for every subschema it descends into."""
    return tuple((a.alias, a.name) for a in fields(cls) if a.init)


def _safe_class(stock: Any, overrides: Mapping[str, Any]) -> Any:
    cls = extend(
        stock,
        {
            "pattern": keywords.pattern,
            "patternProperties": keywords.pattern_properties,
            "additionalProperties": keywords.additional_properties,
            **overrides,
        },
        format_checker=_format_checker(stock, with_regex=True),
    )
    cls.evolve = _pinned_evolve
    return cls


@dataclass(frozen=True)
class Dialect:
    """A draft Benben accepts: its validator class and which keywords hold subschemas (as the
    ``referencing`` library crawls them, which is also what jsonschema descends into)."""

    name: str
    uri: str
    validator_class: Any
    specification: Specification[Any]
    in_value: frozenset[str]  # keyword -> a schema
    in_subarray: frozenset[str]  # keyword -> [schema, ...]
    in_subvalues: frozenset[str]  # keyword -> {name: schema}
    items_array: bool  # "items" may also be an array of schemas
    dependencies: bool  # "dependencies": {name: schema or [names]}
    references: tuple[str, ...]
    meta_validator: Any


_COMMON_VALUE = frozenset(
    {"additionalProperties", "contains", "else", "if", "not", "propertyNames", "then"}
)
_COMMON_SUBARRAY = frozenset({"allOf", "anyOf", "oneOf"})
_COMMON_SUBVALUES = frozenset({"definitions", "patternProperties", "properties"})
_MODERN_VALUE = _COMMON_VALUE | {"contentSchema", "unevaluatedItems", "unevaluatedProperties"}
_MODERN_SUBVALUES = _COMMON_SUBVALUES | {"$defs", "dependentSchemas"}


def _dialect(name: str, stock: Any, specification: Any, overrides: Mapping[str, Any], **kw: Any):
    cls = _safe_class(stock, overrides)
    meta = cls(
        cls.META_SCHEMA,
        format_checker=_format_checker(stock, with_regex=False),
        registry=NO_FETCH,
    )
    uri = stock.ID_OF(stock.META_SCHEMA).rstrip("#")
    return Dialect(name, uri, cls, specification, meta_validator=meta, **kw)


DRAFT_2020_12 = _dialect(
    "2020-12",
    Draft202012Validator,
    DRAFT202012,
    {"unevaluatedProperties": keywords.unevaluated_properties_2020},
    in_value=_MODERN_VALUE | {"items"},
    in_subarray=_COMMON_SUBARRAY | {"prefixItems"},
    in_subvalues=_MODERN_SUBVALUES,
    items_array=False,
    dependencies=False,
    references=("$ref", "$dynamicRef"),
)
DRAFT_2019_09 = _dialect(
    "2019-09",
    Draft201909Validator,
    DRAFT201909,
    {"unevaluatedProperties": keywords.unevaluated_properties_2019},
    in_value=_MODERN_VALUE | {"additionalItems"},
    in_subarray=_COMMON_SUBARRAY,
    in_subvalues=_MODERN_SUBVALUES,
    items_array=True,
    dependencies=False,
    references=("$ref", "$recursiveRef"),
)
DRAFT_07 = _dialect(
    "draft-07",
    Draft7Validator,
    DRAFT7,
    {},
    in_value=_COMMON_VALUE | {"additionalItems"},
    in_subarray=_COMMON_SUBARRAY,
    in_subvalues=_COMMON_SUBVALUES,
    items_array=True,
    dependencies=True,
    references=("$ref",),
)
DEFAULT_DIALECT = DRAFT_2020_12
# The $schema values accepted (with or without a final "#"): the drafts' own URIs only.
DIALECTS: Mapping[str, Dialect] = {d.uri: d for d in (DRAFT_2020_12, DRAFT_2019_09, DRAFT_07)}


def dialect_of(schema: Any) -> Dialect | None:
    """The dialect a schema's root ``$schema`` names (the default without one); None for one
    Benben does not run."""
    declared = schema.get("$schema") if isinstance(schema, dict) else None
    if declared is None:
        return DEFAULT_DIALECT
    if not isinstance(declared, str):
        return None
    return DIALECTS.get(declared.removesuffix("#"))


def make_validator(schema: Any, *, formats: bool = True) -> Any:
    """A validator of ``schema`` in its dialect (an unknown ``$schema`` is a SchemaError):
    RE2 patterns, nothing fetched, ``format`` asserted when ``formats``."""
    dialect = dialect_of(schema)
    if dialect is None:
        raise SchemaError(f"unsupported $schema {schema.get('$schema')!r}")
    cls = dialect.validator_class
    return cls(schema, format_checker=cls.FORMAT_CHECKER if formats else None, registry=NO_FETCH)


def body_validator(schema: Any) -> Any:
    """The validator of one of Benben's own request-body schemas, checked now (at start-up):
    a body schema RE2 cannot run must fail the application's start, not a request."""
    dialect = dialect_of(schema) or DEFAULT_DIALECT
    dialect.validator_class.check_schema(
        schema, format_checker=dialect.validator_class.FORMAT_CHECKER
    )
    return make_validator(schema, formats=False)
