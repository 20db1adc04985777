"""Per-request values that every log line of that request carries (request id, method, path...)."""

from __future__ import annotations

import contextvars
import logging
from typing import Any

request_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "benben_request_context", default=None
)

CONTEXT_FIELDS = ("request_id", "method", "path", "user")


class RequestContextFilter(logging.Filter):
    """Copy the current request's context onto each record (``None`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = request_context.get() or {}
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, context.get(name))
        return True
