"""Input rules for accounts, shared by the REST API and the ``benben users`` command.

Every problem names its field with a JSON pointer (``/username``), so that an API client can put
the message next to the right input and the CLI can print ``username: ...``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from benben.errors import VALIDATION_TYPE, json_pointer
from benben.security import check_password_policy

__all__ = [
    "DISPLAY_NAME_MAX_LENGTH",
    "NAME_RULE",
    "AccountsError",
    "ConflictError",
    "FieldErrors",
    "ForbiddenError",
    "InvalidInputError",
    "clean_description",
    "clean_display_name",
    "clean_email",
    "clean_name",
    "is_uuid_shaped",
    "password_problems",
    "reject_unknown_fields",
]

# Usernames and group names: both end up in principals (user ids, ``group:<name>``) and URLs.
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{1,63}")
NAME_RULE = (
    "must be 2-64 characters: lowercase letters, digits, '_', '.' or '-', "
    "starting with a letter or a digit, and not shaped like a UUID"
)
# URLs take a user or group by id or by name (/api/v1/groups/staff): a segment shaped like a
# UUID is an id, anything else a name.  So no name may have that shape, or it could never be
# addressed by name (and could pass for somebody else's id).
UUID_SHAPE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
UUID_SHAPED_NAME = "must not look like an id (a UUID): ids and names share URLs"
DISPLAY_NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 1000
EMAIL_MAX_LENGTH = 254
# Deliberately simple: one @, a dot-atom local part, a dotted domain of DNS labels. Anything
# stricter rejects real addresses; the only real check of an address is mail reaching it.
_LOCAL_PART = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN = re.compile(r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]")


class AccountsError(Exception):
    """A refused account operation; the REST API answers it as problem+json, the CLI as one line.

    ``errors``: ``[{"location", "pointer", "message"}]``, one entry per offending field.
    """

    status = 400
    title = "Invalid request"
    type = VALIDATION_TYPE

    def __init__(self, detail: str, errors: Iterable[Mapping[str, str]] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = [dict(error) for error in errors]


class InvalidInputError(AccountsError):
    """Fields that break the rules (400)."""


class ConflictError(AccountsError):
    """A unique name taken, or the last administrator about to disappear (409)."""

    status = 409
    title = "Conflict"
    type = "about:blank"


class ForbiddenError(AccountsError):
    """Authenticated, may see the account, but may not make this change (403)."""

    status = 403
    title = "Forbidden"
    type = "about:blank"


class FieldErrors:
    """Collects field problems so that one response reports all of them, not the first only."""

    def __init__(self, location: str = "body") -> None:
        self.location = location
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        pointer = json_pointer(field) if field else ""
        self.errors.append({"location": self.location, "pointer": pointer, "message": message})

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            detail = "; ".join(
                f"{e['pointer'].lstrip('/') or e['location']}: {e['message']}" for e in self.errors
            )
            raise InvalidInputError(detail, self.errors)


def reject_unknown_fields(
    body: Mapping[str, Any], allowed: Iterable[str], errors: FieldErrors
) -> None:
    allowed = set(allowed)
    for field in body:
        if field not in allowed:
            errors.add(str(field), f"unknown field; accepted: {', '.join(sorted(allowed))}")


def clean_name(value: Any, field: str, errors: FieldErrors) -> str | None:
    """A username or group name, lowercased; None (and an error) when it breaks the rule."""
    if not isinstance(value, str):
        errors.add(field, "must be a string")
        return None
    name = value.lower()
    if not NAME_PATTERN.fullmatch(name):
        errors.add(field, NAME_RULE)
        return None
    if is_uuid_shaped(name):
        errors.add(field, UUID_SHAPED_NAME)
        return None
    return name


def is_uuid_shaped(segment: str) -> bool:
    """Whether a URL segment names a user or group by id (else it is a name)."""
    return UUID_SHAPE.fullmatch(segment) is not None


def clean_email(value: Any, errors: FieldErrors, field: str = "email") -> str | None:
    """An email address, lowercased; ``None`` or ``""`` mean "no address"."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        errors.add(field, "must be a string or null")
        return None
    email = value.strip().lower()
    local, at, domain = email.rpartition("@")
    if (
        not at
        or len(email) > EMAIL_MAX_LENGTH
        or len(local) > 64
        or not _LOCAL_PART.fullmatch(local)
        or not _DOMAIN.fullmatch(domain)
    ):
        errors.add(field, "must be an email address like name@example.org")
        return None
    return email


def clean_display_name(value: Any, errors: FieldErrors, field: str = "display_name") -> str | None:
    return _clean_text(value, DISPLAY_NAME_MAX_LENGTH, errors, field)


def clean_description(value: Any, errors: FieldErrors, field: str = "description") -> str | None:
    return _clean_text(value, DESCRIPTION_MAX_LENGTH, errors, field, multiline=True)


def _clean_text(
    value: Any, maximum: int, errors: FieldErrors, field: str, *, multiline: bool = False
) -> str | None:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(field, "must be a string")
        return None
    text = value.strip()
    if len(text) > maximum:
        errors.add(field, f"must be at most {maximum} characters long")
        return None
    allowed = {"\n", "\t"} if multiline else set()
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in text):
        errors.add(field, "must not contain control characters")
        return None
    return text


def password_problems(
    password: Any, settings: Mapping[str, Any], *, username: str | None, email: str | None
) -> list[str]:
    """The security core's policy, plus: not the account's own username or email address."""
    problems = check_password_policy(password, settings)
    if isinstance(password, str):
        lowered = password.strip().lower()
        if lowered and lowered in {username, email}:
            problems.append("must not be the account's username or email address")
    return problems


def check_boolean(body: Mapping[str, Any], field: str, errors: FieldErrors) -> bool | None:
    value = body[field]
    if not isinstance(value, bool):
        errors.add(field, "must be true or false")
        return None
    return value
