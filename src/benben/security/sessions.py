"""Ending sessions: a refresh family revoked with its access tokens, a logout, every session of
a user but one.  Logout and refresh re-use detection (:mod:`benben.auth`), a password change
(:mod:`benben.accounts`) and ``benben users`` end sessions; the identity (:mod:`.identity`)
refuses what was ended, on every process (:mod:`.epoch`).
"""

from __future__ import annotations

import datetime

from pyramid.request import Request
from sqlalchemy import delete, select, update

from benben.accounts.models import User
from benben.security.identity import Identity, mark_session_revoked, mark_token_revoked
from benben.security.models import RefreshToken, RevokedAccessToken
from benben.security.principals import invalidate_principals
from benben.timestamps import utcnow

__all__ = ["end_other_sessions", "revoke_family", "revoke_session"]


def revoke_family(request: Request, family_id: str) -> None:
    """Revoke a session: its refresh tokens, and (once committed) its access tokens."""
    request.dbsession.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    mark_session_revoked(request, family_id)


def revoke_session(request: Request, identity: Identity) -> None:
    """Logout: the access token's jti until it expires, and its refresh family."""
    dbsession = request.dbsession
    now = utcnow()
    # Housekeeping while here: entries whose token has expired anyway are useless.
    dbsession.execute(delete(RevokedAccessToken).where(RevokedAccessToken.expires_at < now))
    expires_at = identity.expires_at or now + datetime.timedelta(days=1)
    if dbsession.get(RevokedAccessToken, identity.token_id) is None:
        dbsession.add(RevokedAccessToken(jti=identity.token_id, expires_at=expires_at))
    if identity.session_id:
        revoke_family(request, identity.session_id)
    mark_token_revoked(request, identity.token_id)


def end_other_sessions(request: Request, user: User, keep_family_id: str | None = None) -> None:
    """Revoke every refresh family of ``user`` but ``keep_family_id``, and refuse every access
    token issued before now (the caller's own included: it can refresh in the kept family, or
    use a pair from :func:`benben.auth.issue_token_pair`).  Used after a password change."""
    condition = [RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None)]
    if keep_family_id:
        condition.append(RefreshToken.family_id != keep_family_id)
    families = request.dbsession.scalars(select(RefreshToken.family_id).where(*condition)).all()
    for family_id in set(families):
        revoke_family(request, family_id)
    user.sessions_valid_after = utcnow()
    invalidate_principals(request, user.id)
