"""Deprecated operations: announced on every response, in the OpenAPI document, before removal.

A view (core's or a plugin's) is deprecated with the view option ``deprecated``::

    from datetime import date
    from benben.plugin import Deprecation, Service

    @things.get(deprecated=Deprecation(since=date(2027, 1, 1), sunset=date(2027, 7, 1),
                                       link="https://example.org/changes#things"))
    def list_things(request): ...

    config.add_view(old_view, route_name="old", deprecated=Deprecation(since=date(2027, 1, 1)))

Its responses — errors included, from the permission check on — then carry
``Deprecation: @<unix time>`` (RFC 9745, a structured-field date), ``Sunset: <HTTP-date>``
(RFC 8594) and ``Link: <url>; rel="deprecation"`` (RFC 9745) when given; the OpenAPI operation
says ``deprecated: true`` and documents the headers (see docs/api-stability.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.interfaces import IViewDeriverInfo
from pyramid.request import Request
from pyramid.response import Response
from pyramid.viewderivers import INGRESS

__all__ = ["DEPRECATION_HEADERS", "Deprecation", "deprecation_view"]

# What a deprecated operation's responses may carry (CORS exposes them to pages).
DEPRECATION_HEADERS = ("Deprecation", "Sunset", "Link")
# A URI reference inside <...> of a Link header: nothing that would end it or split the header.
_LINK = re.compile(r"[^\s<>\"\x00-\x1f\x7f]+")

View = Callable[[Any, Request], Response]


def _instant(value: date | datetime, name: str) -> datetime:
    """A UTC instant: a date is 00:00 UTC that day; a datetime must say its time zone."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"Deprecation {name}: a datetime needs a time zone (tzinfo)")
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    raise TypeError(f"Deprecation {name}: expected a date or datetime, got {value!r}")


@dataclass(frozen=True)
class Deprecation:
    """When an operation was (or will be) deprecated; when it may stop answering; where to read
    more.  A ``date`` means 00:00 UTC that day; a ``datetime`` must carry its time zone."""

    since: date | datetime
    sunset: date | datetime | None = None
    link: str | None = None

    def __post_init__(self) -> None:
        since = _instant(self.since, "since")
        if self.sunset is not None and _instant(self.sunset, "sunset") < since:
            # RFC 9745 section 4: the Sunset timestamp MUST NOT be earlier than the Deprecation.
            raise ValueError("Deprecation: sunset is earlier than since")
        if self.link is not None and not _LINK.fullmatch(self.link):
            raise ValueError(f"Deprecation link: not a URI reference: {self.link!r}")

    @property
    def since_instant(self) -> datetime:
        return _instant(self.since, "since")

    @property
    def sunset_instant(self) -> datetime | None:
        return None if self.sunset is None else _instant(self.sunset, "sunset")

    def headers(self) -> list[tuple[str, str]]:
        """The response headers, in order (``Link`` is added to any already there)."""
        headers = [("Deprecation", f"@{int(self.since_instant.timestamp())}")]
        if (sunset := self.sunset_instant) is not None:
            headers.append(("Sunset", format_datetime(sunset, usegmt=True)))
        if self.link is not None:
            headers.append(("Link", f'<{self.link}>; rel="deprecation"'))
        return headers

    def describe(self) -> str:
        """One sentence for the OpenAPI operation's description."""
        text = f"**Deprecated** since {_day(self.since_instant)}"
        if (sunset := self.sunset_instant) is not None:
            text += f"; may stop answering from {_day(sunset)} on (`Sunset`)"
        if self.link is not None:
            text += f"; see <{self.link}>"
        return text + "."


def _day(instant: datetime) -> str:
    return instant.date().isoformat() if instant.time() == time() else instant.isoformat()


def deprecation_view(view: View, info: IViewDeriverInfo) -> View:
    """The view deriver of the ``deprecated`` view option (outermost: over the permission check,
    so that a 401 or 403 says it too)."""
    deprecation = info.options.get("deprecated")
    if deprecation is None:
        return view
    if not isinstance(deprecation, Deprecation):
        raise ConfigurationError(
            f"view option deprecated: expected benben.plugin.Deprecation, got {deprecation!r}"
        )
    headers = deprecation.headers()

    def add_headers(request: Request, response: Response) -> None:
        for name, value in headers:
            response.headers.add(name, value)

    def deprecated_view(context: Any, request: Request) -> Response:
        # A response callback also reaches responses made from exceptions (403, 400...).
        request.add_response_callback(add_headers)
        return view(context, request)

    return deprecated_view


deprecation_view.options = ("deprecated",)  # type: ignore[attr-defined]


def includeme(config: Configurator) -> None:
    config.add_view_deriver(deprecation_view, name="benben_deprecation", under=INGRESS,
                            over="secured_view")  # fmt: skip
