"""A schema change tried first: which existing records would the resulting schema refuse?

Every live record is checked (streamed in id order, so the cost is one pass over the
collection); the first :data:`MAX_FAILURES` failures are listed with up to
:data:`MAX_ERRORS_PER_RECORD` pointer + message each, and all are counted.  Nothing is stored.
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request

from benben.data.models import Collection
from benben.data.record_schema import data_errors
from benben.data.records import iter_live_records
from benben.jsonschemas import make_validator

__all__ = ["MAX_ERRORS_PER_RECORD", "MAX_FAILURES", "dry_run_report"]

MAX_FAILURES = 100
MAX_ERRORS_PER_RECORD = 20


def dry_run_report(
    request: Request, collection: Collection | None, schema: dict[str, Any] | None
) -> dict[str, Any]:
    checked = failed = 0
    failures: list[dict[str, Any]] = []
    if collection is not None and schema is not None:
        validator = make_validator(schema)
        for record_id, data in iter_live_records(request.dbsession, collection.id):
            checked += 1
            errors = data_errors(validator, data)
            if errors:
                failed += 1
                if len(failures) < MAX_FAILURES:
                    failures.append(
                        {
                            "id": record_id,
                            "errors": [
                                {"pointer": e["pointer"], "message": e["message"]}
                                for e in errors[:MAX_ERRORS_PER_RECORD]
                            ],
                        }
                    )
    elif collection is not None:
        checked = collection.record_count
    return {
        "dry_run": True,
        "valid": failed == 0,
        "checked": checked,
        "failed": failed,
        "failures": failures,
        "truncated": failed > len(failures),
    }
