"""Standard Webhooks signatures (standardwebhooks.com, v1: HMAC-SHA256).

A secret is ``whsec_`` and the base64 of 32 random bytes, generated here and shown to its
owner once.  A message is signed over ``<msg_id>.<timestamp>.<body>``, the body exactly as sent;
each secret in force gives one ``v1,<base64>`` entry of the ``webhook-signature`` header,
space-separated, so that during a rotation's overlap a receiver holding either secret verifies
it (the ``standardwebhooks`` library accepts any matching entry).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from typing import Protocol

__all__ = [
    "SECRET_BYTES",
    "SECRET_PREFIX",
    "SignedSecrets",
    "headers",
    "new_secret",
    "secret_key",
    "secrets_in_force",
    "sign",
]

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32


def new_secret() -> str:
    """A new signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for (ValueError if it is not one)."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)


def sign(
    secrets_: Iterable[str], msg_id: str, timestamp: int | datetime.datetime, body: bytes
) -> str:
    """The ``webhook-signature`` value: ``v1,<base64>`` for each secret, space-separated.

    ``timestamp``: this attempt's time (Unix seconds, or an aware datetime); ``body``: the bytes
    sent.  Neither ``msg_id`` nor the timestamp may contain a ``.``, which separates them in
    the signed content.
    """
    seconds = _seconds(timestamp)
    if "." in msg_id or not msg_id:
        raise ValueError("a webhook message id is not empty and has no '.'")
    content = f"{msg_id}.{seconds}.".encode() + body
    entries = []
    for secret in secrets_:
        digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
        entries.append("v1," + base64.b64encode(digest).decode("ascii"))
    if not entries:
        raise ValueError("nothing to sign with: no secret given")
    return " ".join(entries)


def headers(
    secrets_: Iterable[str], msg_id: str, timestamp: int | datetime.datetime, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(_seconds(timestamp)),
        "webhook-signature": sign(secrets_, msg_id, timestamp, body),
    }


class SignedSecrets(Protocol):
    """What :func:`secrets_in_force` reads of an endpoint (``models.Endpoint``)."""

    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime.datetime | None


def secrets_in_force(endpoint: SignedSecrets, now: datetime.datetime | None = None) -> list[str]:
    """The secrets that sign now: the current one, and the previous one until its overlap ends."""
    now = now or datetime.datetime.now(datetime.UTC)
    found: Sequence[str] = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None:
        if expires.tzinfo is None:  # SQLite gives naive datetimes back; they were stored as UTC
            expires = expires.replace(tzinfo=datetime.UTC)
        if now < expires:
            found = [endpoint.secret, endpoint.previous_secret]
    return list(found)


def _seconds(timestamp: int | datetime.datetime) -> int:
    if isinstance(timestamp, datetime.datetime):
        if timestamp.tzinfo is None:
            raise ValueError("a naive datetime is not a moment: give it a time zone")
        return int(timestamp.timestamp())
    return int(timestamp)
