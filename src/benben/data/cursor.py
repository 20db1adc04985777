"""Opaque, tamper-proof pagination cursors.

A cursor carries the sort key of the last row of a page (keyset pagination) and an HMAC-SHA256
over that key *and* the query's fingerprint: the collection, the filters, the sort and the
_since/_before window.  A cursor edited by a client, or replayed on another query or another
collection, fails verification.  ``_limit`` and ``_fields`` are not bound: changing the page size
or the projection mid-way is harmless.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["LONG_TEXT", "LongText", "decode", "encode", "fingerprint"]

_CONTEXT = b"benben.data.cursor\0"
_MAC_BYTES = 16
# A text sort key longer than this travels as its prefix and a digest: a string may be as long
# as a record, a URL may not.
LONG_TEXT = 64


@dataclass(frozen=True)
class LongText:
    """A long text sort key, as a cursor holds it: its first LONG_TEXT characters and a digest
    of the whole.  The next page reads the whole text back from the record the page ended on
    (sql.fetch_page), when that record still holds it."""

    prefix: str
    digest: str

    def matches(self, text: object) -> bool:
        return isinstance(text, str) and hmac.compare_digest(_text_digest(text), self.digest)


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _canonical(value: Any) -> Any:
    """JSON-ready, telling numbers from their text (a Decimal is ``{"n": "1.50"}``)."""
    if isinstance(value, Decimal):
        return {"n": str(value)}
    if isinstance(value, tuple | list):
        return [_canonical(item) for item in value]
    return value


def fingerprint(
    collection_id: str,
    filters: Iterable[tuple[Any, ...]],
    sort: Iterable[tuple[Any, ...]],
    since: int | None,
    before: int | None,
) -> bytes:
    """What a cursor is bound to, as a digest."""
    # Filters are a conjunction: their order does not matter.  The sort's order does.
    conditions = sorted(json.dumps(_canonical(f), separators=(",", ":")) for f in filters)
    document = [collection_id, conditions, _canonical(list(sort)), since, before]
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).digest()


def _mac(secret: bytes, fingerprint: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, _CONTEXT + fingerprint + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key_value(value: Any) -> Any:
    # Numbers travel as text: PostgreSQL's numeric is exact, and so must the next page's bound be.
    if isinstance(value, Decimal | float) and not isinstance(value, bool):
        return {"n": str(value) if isinstance(value, Decimal) else repr(value)}
    if isinstance(value, str) and len(value) > LONG_TEXT:
        return {"t": value[:LONG_TEXT], "h": _text_digest(value)}
    return value


def encode(secret: bytes, fingerprint: bytes, keys: Iterable[Any]) -> str:
    payload = json.dumps([_key_value(k) for k in keys], separators=(",", ":")).encode()
    return _b64(payload) + "." + _b64(_mac(secret, fingerprint, payload))


def decode(secret: bytes, fingerprint: bytes, token: str, kinds: Sequence[str]) -> tuple[Any, ...]:
    """The sort key in ``token``; ``ValueError`` if it is not one this query signed."""
    try:
        encoded_payload, encoded_mac = token.split(".")
        payload, mac = _unb64(encoded_payload), _unb64(encoded_mac)
    except (ValueError, binascii.Error):
        raise ValueError("malformed cursor") from None
    if not hmac.compare_digest(mac, _mac(secret, fingerprint, payload)):
        raise ValueError("cursor signature mismatch")
    keys = json.loads(payload)
    if not isinstance(keys, list) or len(keys) != len(kinds):
        raise ValueError("cursor does not match the sort")
    return tuple(_checked(kind, value) for kind, value in zip(kinds, keys, strict=True))


def _checked(kind: str, value: Any) -> Any:
    """Signed by us, so well-formed unless the secret leaked: checked all the same."""
    if kind in ("rank", "last_modified") and type(value) is int:
        return value
    if kind in ("text", "id") and isinstance(value, str):
        return value
    if (
        kind == "text"
        and isinstance(value, dict)
        and value.keys() == {"t", "h"}
        and all(isinstance(part, str) for part in value.values())
    ):
        return LongText(value["t"], value["h"])
    # A search's relevance: a float, sent as its repr.
    if kind == "_rank" and isinstance(value, dict) and isinstance(value.get("n"), str):
        try:
            return float(value["n"])
        except ValueError:
            raise ValueError("bad rank in cursor") from None
    if kind == "num":
        if type(value) is int:
            return Decimal(value)
        if isinstance(value, dict) and isinstance(value.get("n"), str):
            try:
                number = Decimal(value["n"])
            except InvalidOperation:
                raise ValueError("bad number in cursor") from None
            # SQLite reads an integer stored beyond a double's range (before such numbers were
            # refused) as an infinity: its page must still have a next one.
            if not number.is_nan():
                return number
    raise ValueError(f"bad {kind} in cursor")
