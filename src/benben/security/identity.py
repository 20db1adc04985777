"""Who is calling: the request's ``Authorization: Bearer`` credential, verified once.

No header: anonymous (None).  A header that is not a valid credential (wrong scheme, forged,
expired, revoked, for an unknown or deactivated user...) is refused with 401: a client that meant
to authenticate is never silently served as anonymous.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pyramid.request import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from benben.cache import NO_VALUE, version_board
from benben.cache.process_cache import ProcessCache
from benben.cache.versions import VersionBoard
from benben.errors import ProblemError
from benben.observability.context import request_context
from benben.security.epoch import (
    AUTH_COUNTER,
    epoch_in_database,
    near_epoch,
    outdate_identities_after_commit,
    read_epoch,
)
from benben.security.jwt import InvalidToken, get_token_codec
from benben.security.principals import (
    PrincipalFacts,
    load_principal_facts,
    principals_cache_key,
    principals_for,
)
from benben.security.tokens import API_TOKEN_PREFIX, MAX_SECRET_LENGTH, digest

__all__ = [
    "AUTH_COUNTER",
    "INVALID_TOKEN_TYPE",
    "Identity",
    "compute_identity",
    "credential_refused",
    "mark_session_revoked",
    "mark_token_revoked",
    "not_revoked_cache_key",
    "outdate_identities_after_commit",
    "revoked_cache_key",
    "session_live_cache_key",
    "session_revoked_cache_key",
]

INVALID_TOKEN_TYPE = "urn:benben:problem:invalid-token"  # noqa: S105 - a problem type
# Cached principal facts are trusted at most this long, whatever the cache's default lifetime:
# it bounds the harm of a request that cached facts read just before a concurrent change.
FACTS_MAX_AGE = 60
# Verified JWT identities are cached in process under the board's AUTH_COUNTER (see
# compute_identity and benben.security.epoch), at most FACTS_MAX_AGE seconds.
IDENTITY_CACHE_KEY = "benben.security.identity_cache"
# last_used_at of an API token is written at most this often, to keep reads cheap.
LAST_USED_RESOLUTION = datetime.timedelta(seconds=60)


@dataclass(frozen=True)
class Identity:
    user_id: str
    username: str
    principals: frozenset[str]
    is_admin: bool
    scopes: frozenset[str] | None  # None: unrestricted (a JWT from logging in)
    credential: str  # "jwt" | "api_token"
    token_id: str  # the JWT's jti or the API token's id
    expires_at: datetime.datetime | None
    session_id: str | None = None  # a JWT's session: the refresh-token family it belongs to


def credential_refused(detail: str, *, error: str = "invalid_token") -> ProblemError:
    """The 401 for a presented credential that is not accepted."""
    challenge = f'Bearer realm="benben", error="{error}"'
    return ProblemError(
        401,
        title="Invalid credentials",
        detail=detail,
        type=INVALID_TOKEN_TYPE,
        headers={"WWW-Authenticate": challenge},
    )


def revoked_cache_key(jti: str) -> str:
    return f"revoked:{jti}"


def not_revoked_cache_key(jti: str) -> str:
    # Negative answers live under their own key: a request that read "not revoked" just before a
    # logout committed can then never overwrite the logout's "revoked" entry.
    return f"not-revoked:{jti}"


def session_revoked_cache_key(family_id: str) -> str:
    return f"revoked-session:{family_id}"


def session_live_cache_key(family_id: str) -> str:
    return f"live-session:{family_id}"


def compute_identity(request: Request) -> Identity | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, credential = header.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise credential_refused(
            "Authorization must be 'Bearer <token>' (an access token or an API token)",
            error="invalid_request",
        )
    if credential.startswith(API_TOKEN_PREFIX):
        with _lookup_session(request) as dbsession:
            return _api_token_identity(request, dbsession, credential)
    near: ProcessCache | None = request.registry.get(IDENTITY_CACHE_KEY)
    board: VersionBoard = version_board(request.registry)
    epoch = near_epoch(request) if near is not None else None
    if epoch is not None:
        found = near.get((credential, epoch))  # type: ignore[union-attr]
        if found is not None and found.expires_at > datetime.datetime.now(datetime.UTC):
            return _announce(request, found)
    generation = board.generation
    with _lookup_session(request) as dbsession:
        stamp = _stamp(request, dbsession)
        identity = _jwt_identity(request, dbsession, credential, stamp)
    if epoch is not None and board.generation == generation:
        if stamp is not None:
            # Kept under the epoch of the snapshot it was verified in: a session that began
            # before a change committed cannot file its stale answer under the newer epoch.
            board.learn({AUTH_COUNTER: stamp})
            epoch = stamp
        near.set((credential, epoch), identity)  # type: ignore[union-attr]
    return identity


def _stamp(request: Request, dbsession: Session) -> int | None:
    """The database's auth epoch as this session sees it, where changes are told through it
    (memory caches); read before the facts it validates."""
    if epoch_in_database(request.registry.settings):
        return read_epoch(dbsession)
    return None


@contextmanager
def _lookup_session(request: Request) -> Iterator[Session]:
    """The request's session inside its transaction; a short private one before it began (a tween
    such as the rate limiter may ask who is calling before pyramid_tm starts the transaction)."""
    if request.environ.get("tm.active"):
        yield request.dbsession
        return
    from benben.db import session_factory

    session: Session = session_factory(request.registry)()
    try:
        yield session
        session.commit()
    finally:
        session.close()


def _jwt_identity(request: Request, dbsession: Session, token: str, stamp: int | None) -> Identity:
    try:
        claims = get_token_codec(request.registry).decode(token)
    except InvalidToken as exc:
        raise credential_refused(str(exc)) from None
    user_id, jti, sid = claims["sub"], claims["jti"], claims["sid"]
    token_keys = (revoked_cache_key(jti), not_revoked_cache_key(jti))
    session_keys = (session_revoked_cache_key(sid), session_live_cache_key(sid))
    # One round trip (Redis MGET) for the user's facts and the token's and session's status.
    facts, *statuses = request.cache.get_multi(
        [principals_cache_key(user_id), *token_keys, *session_keys],
        expiration_time=FACTS_MAX_AGE,
    )
    from benben.security.models import RefreshToken, RevokedAccessToken

    if _revoked(request, token_keys, statuses[0:2],
                lambda: dbsession.get(RevokedAccessToken, jti) is not None):  # fmt: skip
        raise credential_refused("the token has been revoked")
    session_query = (
        select(RefreshToken.id)
        .where(RefreshToken.family_id == sid, RefreshToken.revoked_at.is_not(None))
        .limit(1)
    )
    if _revoked(request, session_keys, statuses[2:4],
                lambda: dbsession.scalars(session_query).first() is not None):  # fmt: skip
        raise credential_refused("the session has been revoked; log in again")
    facts = _facts(request, dbsession, user_id, facts, stamp)
    valid_after = facts["sessions_valid_after"]
    # Millisecond resolution: see AccessTokenCodec.issue.
    if valid_after is not None and claims["iat_ms"] < int(valid_after * 1000):
        raise credential_refused("the session has ended; log in again")
    return _identity(
        request,
        user_id,
        facts,
        scopes=None,
        credential="jwt",
        token_id=jti,
        expires_at=datetime.datetime.fromtimestamp(claims["exp"], datetime.UTC),
        session_id=sid,
    )


def _revoked(
    request: Request,
    keys: tuple[str, str],
    cached: list[Any],
    in_database: Callable[[], bool],
) -> bool:
    """Whether a token or session is revoked: from the cache, else the database."""
    revoked_key, live_key = keys
    if cached[0] is True:
        return True
    if cached[1] is True:
        return False
    revoked = in_database()
    if revoked:
        request.cache.set(revoked_key, True)
    elif request.registry.settings["benben.cache.backend"] != "memory":
        # Only a shared cache may remember "not revoked": instances with private memory caches
        # share nothing but the database, so a logout on another instance must be seen there.
        request.cache.set(live_key, True)
    return revoked


def _facts(
    request: Request, dbsession: Session, user_id: str, cached: Any, stamp: int | None
) -> PrincipalFacts:
    """The user's facts: cached ones if still valid (with memory caches: stored under this
    epoch), else from the database."""
    facts = cached
    if (
        facts is NO_VALUE
        or not isinstance(facts, dict)
        or (stamp is not None and facts.get("epoch") != stamp)
    ):
        facts = load_principal_facts(dbsession, user_id)
        if facts is not None:
            if stamp is not None:
                facts["epoch"] = stamp
            request.cache.set(principals_cache_key(user_id), facts)
    if facts is None or not facts["is_active"]:
        # One answer for both: which accounts exist is not the caller's business.
        raise credential_refused("the token's user is unknown or deactivated")
    return facts


def _api_token_identity(request: Request, dbsession: Session, secret: str) -> Identity:
    from benben.security.models import ApiToken

    if len(secret) > MAX_SECRET_LENGTH:
        raise credential_refused("the API token is not valid")
    token = dbsession.scalars(
        select(ApiToken).where(ApiToken.token_hash == digest(secret))
    ).one_or_none()
    if token is None:
        raise credential_refused("the API token is not valid")
    now = datetime.datetime.now(datetime.UTC)
    if token.revoked_at is not None:
        raise credential_refused("the API token has been revoked")
    expires_at = _aware(token.expires_at)
    if expires_at is not None and expires_at <= now:
        raise credential_refused("the API token has expired")
    stamp = _stamp(request, dbsession)
    cached = request.cache.get_multi(
        [principals_cache_key(token.user_id)], expiration_time=FACTS_MAX_AGE
    )[0]
    facts = _facts(request, dbsession, token.user_id, cached, stamp)
    last_used = _aware(token.last_used_at)
    if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return _identity(
        request,
        token.user_id,
        facts,
        scopes=frozenset(token.scopes.split()),
        credential="api_token",
        token_id=token.id,
        expires_at=expires_at,
    )


def _aware(moment: datetime.datetime | None) -> datetime.datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite: stored as UTC, read back naive
        return moment.replace(tzinfo=datetime.UTC)
    return moment


def _identity(request: Request, user_id: str, facts: PrincipalFacts, **fields: Any) -> Identity:
    identity = Identity(
        user_id=user_id,
        username=facts["username"],
        principals=principals_for(user_id, facts),
        is_admin=facts["is_admin"],
        **fields,
    )
    return _announce(request, identity)


def _announce(request: Request, identity: Identity) -> Identity:
    """Name the caller in this request's log lines."""
    request.benben_log_user = identity.username
    context = request_context.get()
    if context is not None:
        context["user"] = identity.username
    return identity


def mark_token_revoked(request: Request, jti: str) -> None:
    """After the current transaction commits, tell every instance sharing the cache at once."""
    _mark_after_commit(request, revoked_cache_key(jti), not_revoked_cache_key(jti))


def mark_session_revoked(request: Request, family_id: str) -> None:
    """Same for a whole session (refresh family): its access tokens are refused too."""
    _mark_after_commit(
        request, session_revoked_cache_key(family_id), session_live_cache_key(family_id)
    )


def _mark_after_commit(request: Request, revoked_key: str, live_key: str) -> None:
    cache = request.cache

    def hook(committed: bool) -> None:
        if committed:
            # Delete first: a cache that is down drops the set, but replays remembered deletes.
            cache.delete(live_key)
            cache.set(revoked_key, True)

    request.tm.get().addAfterCommitHook(hook)
    outdate_identities_after_commit(request)
