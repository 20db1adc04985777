"""Log formats: one JSON object per line in production, readable lines in development."""

from __future__ import annotations

import copy
import datetime
import json
import logging
import logging.config
import os
from collections.abc import Mapping
from typing import Any

from pyramid.exceptions import ConfigurationError

from benben.observability.context import (
    CONTEXT_FIELDS,
    RequestContextFilter,
    install_record_factory,
)

__all__ = ["JSONFormatter", "TextFormatter", "setup_logging"]

# LogRecord attributes that are plumbing, not content.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JSONFormatter(logging.Formatter):
    """time, level, logger, message, request fields, any ``extra=`` fields, and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        for key, value in vars(record).items():
            if key not in _RESERVED and value is not None and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """Readable lines; with the default format a traced request's lines show ``[<request id>
    trace=<trace id>]``.  Custom formats may use ``%(trace_id)s`` and ``%(span_id)s``."""

    DEFAULT_FORMAT = "%(asctime)s %(levelname)-7s [%(name)s] [%(request_id)s] %(message)s"

    # fileConfig calls formatter classes as cls(format, datefmt, style): accept the full signature.
    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        style: Any = "%",
        validate: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(fmt or self.DEFAULT_FORMAT, datefmt, style, validate, **kwargs)
        self._default = fmt is None or fmt == self.DEFAULT_FORMAT

    def format(self, record: logging.LogRecord) -> str:
        # %-style formats read the record's __dict__, so the context fields must be stored there;
        # on a copy, so that other handlers still see the record as it was logged.
        shown = copy.copy(record)
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            setattr(shown, name, "-" if value is None else value)
        if self._default and shown.trace_id != "-":
            shown.request_id = f"{shown.request_id} trace={shown.trace_id}"
        return super().format(shown)


def setup_logging(settings: Mapping[str, Any]) -> None:
    """Configure logging for a server process from Benben's settings.

    ``benben.logging.config`` names a fileConfig ini that replaces the built-in setup (the shipped
    ones live in ``conf/logging/``); otherwise ``benben.logging.format`` picks text or JSON.
    """
    install_record_factory()
    config_file = settings.get("benben.logging.config")
    if config_file:
        if not os.path.isfile(config_file):
            raise ConfigurationError(
                f"invalid value for setting benben.logging.config: no such file {config_file!r}"
            )
        try:
            logging.config.fileConfig(config_file, disable_existing_loggers=False)
        except Exception as exc:  # fileConfig reports a bad file as KeyError, ValueError...
            raise ConfigurationError(
                f"invalid value for setting benben.logging.config: {config_file} is not a "
                f"usable logging configuration ({type(exc).__name__}: {exc})"
            ) from None
        _ensure_context_filter()
        return
    fmt = settings.get("benben.logging.format", "auto")
    if fmt == "auto":
        fmt = "json" if settings.get("benben.environment") == "production" else "text"
    level = str(settings.get("benben.logging.level", "info")).upper()
    formatter = "benben.observability.logs.JSONFormatter" if fmt == "json" else None
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"context": {"()": RequestContextFilter}},
            "formatters": {"main": {"()": formatter or "benben.observability.logs.TextFormatter"}},
            "handlers": {
                "console": {
                    "class": "logging.StreamHandler",
                    "formatter": "main",
                    "filters": ["context"],
                    "stream": "ext://sys.stderr",
                }
            },
            "root": {"level": level, "handlers": ["console"]},
            "loggers": {
                # "Task queue depth is N" is waitress's normal life under load, not a warning.
                "waitress.queue": {"level": "ERROR"},
                "sqlalchemy.engine": {
                    "level": "INFO" if settings.get("benben.database.echo") else "WARNING"
                },
            },
        }
    )


def _ensure_context_filter() -> None:
    """fileConfig cannot attach filters: add ours to every root handler."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RequestContextFilter) for f in handler.filters):
            handler.addFilter(RequestContextFilter())
