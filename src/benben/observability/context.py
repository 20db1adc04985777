"""Per-request values that every log line of that request carries (request id, method, path...).

Two mechanisms, so that no handler configuration can lose them:

- :class:`ContextLogRecord` (installed as the log record factory) captures the request context
  when a record is *created*, so ``record.request_id`` is right whichever handler sees it
  (pytest's ``caplog``, a queue handler in another thread, a fileConfig handler...);
- :class:`RequestContextFilter` (on Benben's handlers) copies the fields into the record's
  ``__dict__``, where ``%(request_id)s`` format strings look them up.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any

request_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "benben_request_context", default=None
)

# trace_id and span_id are set only while tracing is enabled (benben.observability.otel).
CONTEXT_FIELDS = ("request_id", "method", "path", "user", "trace_id", "span_id")


class ContextLogRecord(logging.LogRecord):
    """A record that knows the request it was logged in.

    The fields are answered by ``__getattr__`` rather than stored in ``__dict__``: ``logging``
    refuses ``extra=`` keys that already exist on a record, and code logging
    ``extra={"path": ...}`` must keep working (its value then wins).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        context = request_context.get()
        # A copy: the record tells how things were when it was logged, not when it is formatted.
        self._benben_context = dict(context) if context else None

    def __getattr__(self, name: str) -> Any:
        if name in CONTEXT_FIELDS:
            context = self.__dict__.get("_benben_context") or {}
            return context.get(name)
        raise AttributeError(name)


def install_record_factory() -> None:
    """Make every new log record a :class:`ContextLogRecord` (idempotent).

    A factory someone else installed is left alone: Benben's handlers still get the fields from
    :class:`RequestContextFilter`.
    """
    if logging.getLogRecordFactory() is logging.LogRecord:
        logging.setLogRecordFactory(ContextLogRecord)


class RequestContextFilter(logging.Filter):
    """Put the request's context fields in each record's ``__dict__`` (``None`` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = request_context.get() or {}
        for name in CONTEXT_FIELDS:
            if name in record.__dict__:
                continue
            if isinstance(record, ContextLogRecord):
                value = getattr(record, name)  # the context when the record was created
            else:
                value = current.get(name)
            setattr(record, name, value)
        return True
