"""Sessions: token pairs, refresh rotation with re-use detection.  Ending sessions (logout, a
re-used refresh token, a password change) is :mod:`benben.security.sessions`."""

from __future__ import annotations

import datetime
import logging
import uuid
from typing import Any

from pyramid.request import Request
from sqlalchemy import func, or_, select, update

from benben.accounts.models import User
from benben.accounts.services import user_json as account_json
from benben.security.jwt import get_token_codec
from benben.security.models import RefreshToken
from benben.security.sessions import revoke_family
from benben.security.tokens import MAX_SECRET_LENGTH, digest, new_refresh_token

__all__ = [
    "RefreshRefused",
    "find_login_user",
    "issue_token_pair",
    "rotate_refresh_token",
    "user_json",
]

log = logging.getLogger(__name__)


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class RefreshRefused(Exception):  # noqa: N818 - a refusal, not a bug
    """A refresh token that gets no new pair; ``str(exc)`` is safe to show.

    ``commit`` is True when the refusal changed state that must be kept (a re-used token's
    family was revoked): the view then returns its 401 rather than raising it, so the
    transaction commits.
    """

    def __init__(self, reason: str, *, commit: bool = False) -> None:
        super().__init__(reason)
        self.commit = commit


def issue_token_pair(request: Request, user: User, family_id: str | None = None) -> dict[str, Any]:
    """A new access token and refresh token for ``user`` (a new session unless ``family_id``).

    Returns the OAuth 2-style body: ``access_token``, ``token_type``, ``expires_in``,
    ``refresh_token``.
    """
    family_id = family_id or str(uuid.uuid4())
    secret, token_hash = new_refresh_token()
    ttl = datetime.timedelta(seconds=int(request.registry.settings["benben.jwt.refresh_ttl"]))
    request.dbsession.add(
        RefreshToken(
            family_id=family_id,
            user_id=user.id,
            token_hash=token_hash,
            expires_at=utcnow() + ttl,
        )
    )
    access = get_token_codec(request.registry).issue(user.id, sid=family_id)
    return {
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": access.expires_in,
        "refresh_token": secret,
    }


def rotate_refresh_token(request: Request, secret: str) -> dict[str, Any]:
    """Exchange a refresh token for a new pair in the same family; the old one is spent."""
    if len(secret) > MAX_SECRET_LENGTH:
        raise RefreshRefused("the refresh token is not valid")
    dbsession = request.dbsession
    token = dbsession.scalars(
        select(RefreshToken).where(RefreshToken.token_hash == digest(secret))
    ).one_or_none()
    if token is None:
        raise RefreshRefused("the refresh token is not valid")
    if token.revoked_at is not None:
        raise RefreshRefused("the refresh token has been revoked")
    now = utcnow()
    if token.used_at is not None:
        _reuse_detected(request, token)
    if _aware(token.expires_at) <= now:
        raise RefreshRefused("the refresh token has expired")
    # Spend it atomically: of two concurrent refreshes with one token, exactly one wins; the
    # other is a re-use (on PostgreSQL it waits for the row, on SQLite it is retried).
    spent = dbsession.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        dbsession.refresh(token)
        _reuse_detected(request, token)
    user = dbsession.get(User, token.user_id)
    if user is None or not user.is_active:
        raise RefreshRefused("the refresh token's user is unknown or deactivated")
    return issue_token_pair(request, user, token.family_id)


def _reuse_detected(request: Request, token: RefreshToken) -> None:
    # A spent token presented again: it was stolen, or a stolen copy was used first. Either
    # way, nobody holding this family can be trusted any more.
    revoke_family(request, token.family_id)
    log.warning(
        "refresh token re-used: session %s of user %s revoked", token.family_id, token.user_id
    )
    raise RefreshRefused(
        "the refresh token was already used; the session has been revoked for safety",
        commit=True,
    )


def find_login_user(request: Request, field: str, value: str) -> User | None:
    """The user a login names: by username, by email, or (``login``) by either."""
    lowered = value.strip().lower()
    by_username = User.username == lowered
    by_email = func.lower(User.email) == lowered
    condition = {"username": by_username, "email": by_email}.get(field, or_(by_username, by_email))
    users = request.dbsession.scalars(select(User).where(condition).limit(2)).all()
    if len(users) > 1:  # one user's name is another's email: the username wins
        users = [user for user in users if user.username == lowered]
    return users[0] if users else None


def user_json(user: User) -> dict[str, Any]:
    """The public view of a user (never the password hash), as the users API shows it."""
    return account_json(user, sorted(group.name for group in user.groups))


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)
