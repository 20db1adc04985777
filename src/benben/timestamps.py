"""Timestamps as the API shows them: UTC, RFC 3339, with a ``Z``."""

from __future__ import annotations

import datetime


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def as_utc(moment: datetime.datetime) -> datetime.datetime:
    """SQLite gives back naive datetimes; they were stored as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def iso(moment: datetime.datetime | None) -> str | None:
    """``2026-11-25T21:40:05.129356Z`` (``None`` stays ``None``)."""
    if moment is None:
        return None
    return as_utc(moment).isoformat().replace("+00:00", "Z")
