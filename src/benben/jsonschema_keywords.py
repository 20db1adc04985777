"""The JSON Schema keywords that match regular expressions, on RE2 (linear time, no backtracking).

jsonschema evaluates ``pattern``, ``patternProperties`` and, through them, ``additionalProperties``
and ``unevaluatedProperties`` with Python's ``re``, which backtracks while holding the GIL: one
schema such as ``^(a+)+$`` and a 30-character string stop every thread of the process for
minutes.  These replacements keep jsonschema's semantics and messages and search with RE2
instead.  ``find_evaluated_keys`` follows jsonschema 4.x's
``_utils.find_evaluated_property_keys_by_schema`` (2020-12) and its draft 2019-09 variant in
``_legacy_keywords``; only the pattern test differs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import re2
from jsonschema.exceptions import ValidationError
from referencing.jsonschema import lookup_recursive_ref

__all__ = [
    "RE2_OPTIONS",
    "additional_properties",
    "compile_pattern",
    "pattern",
    "pattern_properties",
    "unevaluated_properties_2019",
    "unevaluated_properties_2020",
]

RE2_OPTIONS = re2.Options()
# A refused pattern is reported to the client; RE2 would also print it to stderr.
RE2_OPTIONS.log_errors = False


def compile_pattern(source: str) -> Any:
    """The RE2 program of ``source`` (``re2.error`` if RE2 refuses it).  RE2 keeps the last
    compiled programs in its own LRU, as ``re`` does, so repeated patterns compile once."""
    return re2.compile(source, RE2_OPTIONS)


def _search(source: str, text: str) -> bool:
    return compile_pattern(source).search(text) is not None


def pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _search(patrn, instance):
        yield ValidationError(f"{instance!r} does not match {patrn!r}")


def pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for source, subschema in patterns.items():
        for key, value in instance.items():
            if _search(source, key):
                yield from validator.descend(value, subschema, path=key, schema_path=source)


def _additional(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> Iterator[str]:
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    for key in instance:
        if key not in properties and not any(_search(source, key) for source in patterns):
            yield key


def additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    extras = set(_additional(instance, schema))
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            patterns = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {patterns}")
        else:
            yield ValidationError(
                f"Additional properties are not allowed ({_extras(sorted(extras, key=str))})"
            )


def _extras(extras: list[Any]) -> str:
    verb = "was" if len(extras) == 1 else "were"
    return f"{', '.join(repr(extra) for extra in extras)} {verb} unexpected"


def _valid(errors: Iterator[Any]) -> bool:
    return next(errors, None) is None


def _follow(validator: Any, resolved: Any, instance: Any, legacy: bool) -> list[str]:
    evolved = validator.evolve(schema=resolved.contents, _resolver=resolved.resolver)
    return find_evaluated_keys(evolved, instance, resolved.contents, legacy=legacy)


def find_evaluated_keys(
    validator: Any, instance: Mapping[str, Any], schema: Any, *, legacy: bool
) -> list[str]:
    """The members of ``instance`` that ``schema`` evaluates (``legacy``: draft 2019-09)."""
    if validator.is_type(schema, "boolean"):
        return []
    keys: list[str] = []
    if schema.get("$ref") is not None:
        keys += _follow(validator, validator._resolver.lookup(schema["$ref"]), instance, legacy)
    if legacy and "$recursiveRef" in schema:
        keys += _follow(validator, lookup_recursive_ref(validator._resolver), instance, legacy)
    if not legacy and schema.get("$dynamicRef") is not None:
        resolved = validator._resolver.lookup(schema["$dynamicRef"])
        keys += _follow(validator, resolved, instance, legacy)
    if legacy:
        for keyword in ("properties", "additionalProperties", "unevaluatedProperties"):
            value = schema.get(keyword)
            if value is True:
                keys += instance.keys()
            elif isinstance(value, dict):
                keys += [key for key in value if key in instance]
    else:
        properties = schema.get("properties")
        if validator.is_type(properties, "object"):
            keys += properties.keys() & instance.keys()
        for keyword in ("additionalProperties", "unevaluatedProperties"):
            if (subschema := schema.get(keyword)) is not None:
                keys += [
                    key
                    for key, value in instance.items()
                    if _valid(validator.descend(value, subschema))
                ]
    for key in instance:
        keys += [key for source in schema.get("patternProperties", ()) if _search(source, key)]
    for key, subschema in schema.get("dependentSchemas", {}).items():
        if key in instance:
            keys += find_evaluated_keys(validator, instance, subschema, legacy=legacy)
    for keyword in ("allOf", "oneOf", "anyOf"):
        for subschema in schema.get(keyword, ()):
            if _valid(validator.descend(instance, subschema)):
                keys += find_evaluated_keys(validator, instance, subschema, legacy=legacy)
    if "if" in schema:
        if validator.evolve(schema=schema["if"]).is_valid(instance):
            keys += find_evaluated_keys(validator, instance, schema["if"], legacy=legacy)
            if "then" in schema:
                keys += find_evaluated_keys(validator, instance, schema["then"], legacy=legacy)
        elif "else" in schema:
            keys += find_evaluated_keys(validator, instance, schema["else"], legacy=legacy)
    return keys


def _unevaluated(
    validator: Any, subschema: Any, instance: Any, schema: Any, *, legacy: bool
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    evaluated = find_evaluated_keys(validator, instance, schema, legacy=legacy)
    refused = [
        key
        for key in instance
        if key not in evaluated
        and not _valid(validator.descend(instance[key], subschema, path=key, schema_path=key))
    ]
    if refused and subschema is False:
        error = ValidationError(
            f"Unevaluated properties are not allowed ({_extras(sorted(refused, key=str))})"
        )
    elif refused:
        error = ValidationError(
            "Unevaluated properties are not valid under the given schema "
            f"({_extras(refused).replace('unexpected', 'unevaluated and invalid')})"
        )
    else:
        return
    # The members themselves, for a message (and a pointer) per member: benben.schema_messages.
    error.refused_members = tuple(refused)  # type: ignore[attr-defined]
    yield error


def unevaluated_properties_2020(
    validator: Any, unevaluated: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    yield from _unevaluated(validator, unevaluated, instance, schema, legacy=False)


def unevaluated_properties_2019(
    validator: Any, unevaluated: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    yield from _unevaluated(validator, unevaluated, instance, schema, legacy=True)
