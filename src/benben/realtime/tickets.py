"""Stream tickets: minted by an authenticated request, redeemed once by a change stream.

``POST /api/v1/changes/tickets`` seals the caller's own credential (the access token or API token
it presented) under a key derived from a new random ticket, stores the seal under the ticket's
SHA-256, and answers the ticket.  ``GET .../changes?ticket=`` is answered as if it carried that
credential: :func:`tickets_tween_factory` redeems the ticket (deleting its row: single use)
before anything asks who is calling, and puts the credential in the request's ``Authorization``.
Identity, permissions and rate limits then apply exactly as to a ``Bearer`` request, and the
stream keeps re-checking that credential (revocation, expiry) while it lasts.

The ticket is in a URL, so it is worth little: it lives seconds, works once, and the access log
shows ``ticket=[REDACTED]`` (:mod:`benben.observability.redact`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from sqlalchemy import delete
from sqlalchemy.orm import Session

from benben.errors import problem_response
from benben.realtime.models import StreamTicket
from benben.security.identity import INVALID_TOKEN_TYPE

__all__ = [
    "TICKET_PARAMETER",
    "TICKET_PREFIX",
    "mint_ticket",
    "redeem_ticket",
    "tickets_tween_factory",
]

TICKET_PREFIX = "bbs_"
TICKET_PARAMETER = "ticket"
_TICKET_BYTES = 32
_MAX_TICKET_LENGTH = 64
_REDEEMED_KEY = "benben.realtime.ticket_credential"  # in environ: a replayed request's credential
_STREAM_SUFFIX = "/changes"


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode("ascii")).hexdigest()


def _key(ticket: str) -> bytes:
    return hashlib.sha256(b"benben stream ticket v1\x00" + ticket.encode("ascii")).digest()


def mint_ticket(
    session: Session, user_id: str, credential: str, *, lifetime_ms: int
) -> tuple[str, int]:
    """A new ticket for ``credential`` (held by ``user_id``) and when it expires (epoch ms).
    Expired tickets are deleted on the way (the expiry index makes it cheap)."""
    now = time.time_ns() // 1_000_000
    session.execute(delete(StreamTicket).where(StreamTicket.expires_at < now))
    ticket = TICKET_PREFIX + base64.urlsafe_b64encode(os.urandom(_TICKET_BYTES)).decode().rstrip(
        "="
    )
    digest = _digest(ticket)
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(_key(ticket)).encrypt(nonce, credential.encode(), digest.encode())
    expires_at = now + lifetime_ms
    session.add(StreamTicket(digest=digest, user_id=user_id, sealed=sealed, expires_at=expires_at))
    return ticket, expires_at


def redeem_ticket(session: Session, ticket: str) -> str | None:
    """The credential ``ticket`` was minted for, once: the row is deleted in ``session``'s
    transaction.  None for a ticket that is malformed, unknown, used or expired."""
    if (
        not isinstance(ticket, str)
        or not ticket.startswith(TICKET_PREFIX)
        or len(ticket) > _MAX_TICKET_LENGTH
        or not ticket.isascii()
    ):
        return None
    digest = _digest(ticket)
    row = session.execute(
        delete(StreamTicket)
        .where(StreamTicket.digest == digest)
        .returning(StreamTicket.sealed, StreamTicket.expires_at)
    ).first()
    if row is None or row.expires_at < time.time_ns() // 1_000_000:
        return None
    sealed = bytes(row.sealed)
    try:
        plain = AESGCM(_key(ticket)).decrypt(sealed[:12], sealed[12:], digest.encode())
    except InvalidTag:
        return None
    return plain.decode()


def _refused(request: Request, detail: str, status: int = 401) -> Response:
    challenge = 'Bearer realm="benben", error="invalid_token"'
    return problem_response(
        request,
        status,
        title="Invalid credentials" if status == 401 else None,
        detail=detail,
        type=INVALID_TOKEN_TYPE if status == 401 else "about:blank",
        headers={"WWW-Authenticate": challenge} if status == 401 else None,
        errors=[{"location": "query", "name": TICKET_PARAMETER, "message": detail}],
    )


def tickets_tween_factory(handler: Callable[[Request], Response], registry: Registry) -> Any:
    """Turns ``?ticket=`` on a change stream into the credential it was minted for, before the
    rate limiter, the security policy or a view asks who is calling."""
    from benben.db import session_factory

    def tween(request: Request) -> Response:
        if not request.path_info.endswith(_STREAM_SUFFIX):
            return handler(request)
        environ = request.environ
        credential = environ.get(_REDEEMED_KEY)
        if credential is None:
            ticket = request.GET.get(TICKET_PARAMETER)
            if ticket is None:
                return handler(request)
            if "HTTP_AUTHORIZATION" in environ:
                return _refused(
                    request,
                    "Send either an Authorization header or a ticket, not both.",
                    status=400,
                )
            session = session_factory(registry)()
            try:
                credential = redeem_ticket(session, ticket)
                session.commit()
            finally:
                session.close()
            if credential is None:
                return _refused(
                    request,
                    "The stream ticket is unknown, used or expired: mint a new one with "
                    "POST /api/v1/changes/tickets.",
                )
            # A replay of this request (pyramid_retry) finds it here: the row is gone.
            environ[_REDEEMED_KEY] = credential
        environ["HTTP_AUTHORIZATION"] = f"Bearer {credential}"
        return handler(request)

    return tween
