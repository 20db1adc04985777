"""What a webhook's fields must be beyond their JSON Schema: the URL's scheme and parts, event
types Benben knows, and collections the caller may read.

Refusals are raised as :class:`Refused` and answered by :func:`answers_refusals`: a 400 through
Cornice's errors (the problem every validation failure gets, one JSON pointer per field), any
other status as a problem of its own; the transaction is doomed either way, so that nothing a
refused request wrote commits.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from benben.plugin import EVENT_TYPES, Request, problem_response, user_may_read

from .resources import is_admin
from .settings import WebhooksSettings

__all__ = [
    "Refused",
    "answers_refusals",
    "check_collections",
    "check_event_types",
    "check_url",
    "field_error",
]

# The areas core publishes: an exact type in one of them must be a type core publishes.
CORE_AREAS = frozenset(name.split(".")[0] for name in EVENT_TYPES)
# Events about no collection (accounts): what they carry is for administrators only.
# Events about no collection: for administrators (a collection list could never match them).
ADMIN_AREAS = frozenset({"user", "group", "backup"})

Field = str | int
View = TypeVar("View", bound=Callable[..., Any])


def field_error(path: Sequence[Field] | Field, message: str) -> dict[str, str]:
    parts = (path,) if isinstance(path, str | int) else tuple(path)
    pointer = "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return {"location": "body", "pointer": pointer, "message": message}


class Refused(Exception):  # noqa: N818 - an answer, not a fault
    """A request refused with ``status`` (400: invalid fields, 403: not allowed...)."""

    def __init__(
        self, status: int, detail: str, errors: Iterable[dict[str, str]] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors or ())


def invalid(*errors: dict[str, str]) -> Refused:
    detail = "; ".join(f"{e['pointer'] or '/'}: {e['message']}" for e in errors)
    return Refused(400, detail, errors)


def answers_refusals(view: View) -> View:
    """Turn a :class:`Refused` raised by ``view`` into its problem, the transaction doomed."""

    @functools.wraps(view)
    def wrapper(request: Request) -> Any:
        try:
            return view(request)
        except Refused as refusal:
            request.tm.doom()
            if refusal.status == 400:
                for error in refusal.errors:
                    # Cornice's error handler turns the dotted name back into the pointer.
                    name = ".".join(error["pointer"].split("/")[1:])
                    request.errors.add("body", name, error["message"])
                request.errors.status = 400
                return None
            return problem_response(
                request, refusal.status, detail=refusal.detail, errors=refusal.errors or None
            )

    return wrapper  # type: ignore[return-value]


def check_url(url: str, settings: WebhooksSettings) -> str:
    """``url`` if an endpoint may have it: https (http where allowed), a host, no userinfo."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range or not a number
    except ValueError:
        raise invalid(field_error("url", "is not a valid URL")) from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise invalid(field_error("url", "must be an absolute https:// URL with a host"))
    if "@" in parts.netloc:
        raise invalid(field_error("url", "must not hold a user name or password"))
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise invalid(field_error("url", "must not contain spaces or control characters"))
    if parts.fragment:
        raise invalid(field_error("url", "must not have a fragment (#...)"))
    if scheme == "http" and not (settings.allow_http or _in_allowed(parts.hostname, settings)):
        raise invalid(
            field_error(
                "url",
                "must be https:// (plain http:// only to the networks of "
                "benben.webhooks.allowed_networks, or with benben.webhooks.allow_http)",
            )
        )
    return url


def _in_allowed(host: str, settings: WebhooksSettings) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: what it resolves to is checked at delivery, not trusted now
    return any(address in network for network in settings.networks())


def check_event_types(patterns: Sequence[str]) -> list[str]:
    """The patterns, duplicates dropped; an exact type of a core area must be one core
    publishes (a typo would silently never match)."""
    kept: list[str] = []
    for index, pattern in enumerate(patterns):
        area = pattern.split(".")[0]
        exact = pattern != "*" and not pattern.endswith(".*")
        if exact and area in CORE_AREAS and pattern not in EVENT_TYPES:
            known = ", ".join(t for t in EVENT_TYPES if t.startswith(area + "."))
            raise invalid(
                field_error(("event_types", index), f"unknown event type; {area}'s: {known}")
            )
        if pattern not in kept:
            kept.append(pattern)
    return kept


def check_collections(
    request: Request, collections: Sequence[str], event_types: Sequence[str]
) -> list[str]:
    """The collection ids, duplicates dropped, if the caller may subscribe to them: each one
    they may read (administrators: any id, even one not created yet).  No collection means
    everything, account events included: administrators only."""
    kept = list(dict.fromkeys(collections))
    if is_admin(request):
        return kept
    if not collections:
        raise Refused(
            403,
            "only administrators may subscribe to every collection's events (an empty "
            "`collections`); list the collections to watch",
            [field_error("collections", "must list the collections to watch")],
        )
    for index, pattern in enumerate(event_types):
        if pattern.split(".")[0] in ADMIN_AREAS:
            raise Refused(
                403,
                "only administrators may subscribe to user, group and backup events",
                [field_error(("event_types", index), "is for administrators only")],
            )
    user_id = request.identity.user_id
    for index, collection_id in enumerate(collections):
        if collection_id in collections[:index]:
            continue
        # A collection that does not exist and one the caller may not read answer alike.
        if not user_may_read(request.dbsession, user_id, collection_id):
            raise Refused(
                403,
                f"you may not read the collection {collection_id!r}, or it does not exist",
                [field_error(("collections", index), "is not a collection you may read")],
            )
    return kept
