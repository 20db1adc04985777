"""Record data against its collection: size, JSON hygiene, the collection's JSON Schema.

Compiled validators are kept per collection version of the schema (its ``updated_at``) in a
small LRU on the registry: building one costs far more than validating a record with it.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from jsonschema.protocols import Validator
from referencing.exceptions import Unresolvable

from benben.data.models import Collection
from benben.data.validation import body_error, hygiene_errors, invalid
from benben.errors import json_pointer
from benben.jsonschemas import make_validator
from benben.rest import schema_errors
from benben.timestamps import iso

__all__ = ["check_record_data", "data_errors", "record_validator"]

VALIDATORS_KEY = "benben.data.validators"
MAX_CACHED_VALIDATORS = 256
# A record failing everywhere is not reported error by error past this many.
MAX_REPORTED_ERRORS = 100


class _ValidatorCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, str | None], Validator] = OrderedDict()

    def get(self, collection: Collection) -> Validator:
        key = (collection.id, iso(collection.updated_at))
        with self._lock:
            validator = self._items.get(key)
            if validator is not None:
                self._items.move_to_end(key)
                return validator
        # RE2 patterns, nothing fetched: see benben.jsonschemas.
        validator = make_validator(collection.schema)
        with self._lock:
            self._items[key] = validator
            while len(self._items) > MAX_CACHED_VALIDATORS:
                self._items.popitem(last=False)
        return validator


def record_validator(registry: Any, collection: Collection) -> Validator | None:
    """The collection's compiled schema; None when it has none."""
    if collection.schema is None:
        return None
    cache = registry.get(VALIDATORS_KEY)
    if cache is None:
        cache = registry.setdefault(VALIDATORS_KEY, _ValidatorCache())
    validator: Validator = cache.get(collection)
    return validator


def data_errors(
    validator: Validator | None, data: Any, prefix: tuple[Any, ...] = ("data",)
) -> list[dict[str, str]]:
    """The schema's violations by ``data``, with pointers under ``prefix``."""
    if validator is None:
        return []
    try:
        errors = schema_errors(validator, data, prefix=prefix)
        return sorted(errors, key=lambda e: e["pointer"])[:MAX_REPORTED_ERRORS]
    except (RecursionError, Unresolvable) as exc:  # refused when the schema was set; a backstop
        message = f"the collection's schema cannot be applied ({type(exc).__name__})"
        return [body_error(json_pointer(*prefix), message)]


def check_record_data(
    registry: Any, collection: Collection, data: Any, prefix: tuple[Any, ...] = ("data",)
) -> None:
    """400 for NUL characters, lone surrogates, deep nesting or schema violations; 413 for data
    larger than ``benben.data.max_record_size`` (bytes of compact JSON)."""
    errors = hygiene_errors(data, prefix)
    if errors:
        raise invalid(errors)
    limit = registry.settings["benben.data.max_record_size"]
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    if size > limit:
        pointer = json_pointer(*prefix)
        raise invalid(
            [body_error(pointer, f"is {size} bytes of JSON; at most {limit} are accepted")],
            status=413,
            detail=f"The record's data is {size} bytes of JSON; at most {limit} are accepted.",
        )
    errors = data_errors(record_validator(registry, collection), data, prefix)
    if errors:
        raise invalid(errors)
