"""``/api/v1/auth/*``: login, refresh, logout, me; and ``/.well-known/jwks.json``.

Cornice services; ``benben.auth.includeme`` registers them (JWKS only with asymmetric keys)."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNoContent, HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response

from benben.accounts.models import User
from benben.errors import ProblemError, problem_response
from benben.observability.metrics import get_metrics
from benben.ratelimit.throttle import account_key, get_login_throttle
from benben.rest import Response as Documented
from benben.rest import Service
from benben.security.identity import INVALID_TOKEN_TYPE
from benben.security.jwt import get_token_codec
from benben.security.passwords import MAX_PASSWORD_LENGTH, get_password_hasher
from benben.security.permissions import READ
from benben.security.resources import Self
from benben.security.sessions import revoke_session

from .schemas import JWKS, LOGIN, ME, NO_STORE_DOC, REFRESH, TOKEN_PAIR
from .services import (
    RefreshRefused,
    find_login_user,
    issue_token_pair,
    rotate_refresh_token,
    user_json,
    utcnow,
)
from .validation import field_error, invalid, string_field

__all__ = [
    "jwks",
    "jwks_view",
    "login",
    "login_view",
    "logout",
    "logout_view",
    "me",
    "me_view",
    "refresh",
    "refresh_view",
]

login = Service(name="api.auth.login", path="/api/v1/auth/login", tags=["auth"])
refresh = Service(name="api.auth.refresh", path="/api/v1/auth/refresh", tags=["auth"])
logout = Service(name="api.auth.logout", path="/api/v1/auth/logout", factory=Self, tags=["auth"])
me = Service(name="api.auth.me", path="/api/v1/auth/me", factory=Self, tags=["auth"])
jwks = Service(name="jwks", path="/.well-known/jwks.json", tags=["auth"])

LOGIN_FIELDS = ("username", "email", "login")
# Tokens must never sit in a browser or proxy cache.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
LOGIN_FAILED_DETAIL = "The username, email or password is not correct."


@login.post(
    operation_id="login",
    summary="Log in",
    description="Exchange a username or email and a password for a short-lived access token "
    "(a JWT) and a refresh token.",
    body_schema=LOGIN,
    responses={
        200: Documented("A new session's tokens; never cached.", TOKEN_PAIR, NO_STORE_DOC),
        401: "Login failed: one answer for an unknown user, a wrong password and a "
        "deactivated account.",
        429: "Too many failed logins for this account or from this address (`Retry-After`).",
    },
)
def login_view(request: Request) -> dict[str, Any]:
    body = request.validated
    given = [field for field in LOGIN_FIELDS if body.get(field) is not None]
    if len(given) != 1:
        raise invalid(field_error("username", "give exactly one of username, email or login"))
    field = given[0]
    identifier = string_field(body, field, max_length=254) or ""
    password = string_field(body, "password", max_length=MAX_PASSWORD_LENGTH) or ""
    metrics = get_metrics(request.registry)
    # The account first, so that its username and email share one counter; then the attempt is
    # counted before the password is checked (parallel guesses cannot all pass a check).
    user = find_login_user(request, field, identifier)
    try:
        attempt = get_login_throttle(request).acquire(
            request, account_key(None if user is None else user.id, identifier)
        )
    except ProblemError:
        metrics.login_failure("throttled")
        raise

    hasher = get_password_hasher(request.registry)
    if user is None:
        hasher.verify_dummy(password)  # as slow as a wrong password: no user enumeration
        accepted, reason = False, "unknown_user"
    elif not hasher.verify(user.password_hash, password):
        accepted, reason = False, "bad_password"
    else:
        accepted, reason = user.is_active, "inactive"
    if not accepted or user is None:
        metrics.login_failure(reason)  # the reservation stays: it counts this failure
        # One answer for unknown user, wrong password and deactivated account.
        raise ProblemError(
            401,
            title="Login failed",
            detail=LOGIN_FAILED_DETAIL,
            headers={"WWW-Authenticate": 'Bearer realm="benben"'},
        )
    attempt.succeeded()
    if hasher.needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    user.last_login_at = utcnow()
    request.response.headers.update(NO_STORE)
    return issue_token_pair(request, user)


@refresh.post(
    operation_id="refresh",
    summary="Rotate a refresh token",
    description="Spend a refresh token for a new pair in the same session. A refresh token "
    "presented twice revokes its whole session.",
    body_schema=REFRESH,
    responses={
        200: Documented("The session's new tokens; never cached.", TOKEN_PAIR, NO_STORE_DOC),
        401: "The refresh token is unknown, expired, revoked or re-used.",
    },
)
def refresh_view(request: Request) -> dict[str, Any] | Response:
    body = request.validated
    secret = string_field(body, "refresh_token", max_length=1024) or ""
    try:
        pair = rotate_refresh_token(request, secret)
    except RefreshRefused as exc:
        refusal = ProblemError(
            401,
            title="Invalid credentials",
            detail=str(exc),
            type=INVALID_TOKEN_TYPE,
            headers={"WWW-Authenticate": 'Bearer realm="benben", error="invalid_token"'},
        )
        if exc.commit:  # returned, not raised: the family's revocation must be committed
            return problem_response(request, 401, **refusal.problem)
        raise refusal from None
    request.response.headers.update(NO_STORE)
    return pair


@logout.post(
    permission=READ,
    operation_id="logout",
    summary="Log out",
    description="Revoke the presented access token (on every instance, until it expires) and "
    "its session's refresh tokens.",
    responses={
        204: "Logged out.",
        400: "The credential is an API token: revoke it with `DELETE /api/v1/tokens/{id}`.",
    },
)
def logout_view(request: Request) -> Response:
    identity = request.identity
    if identity.credential != "jwt":
        raise invalid(
            {
                "location": "header",
                "pointer": "",
                "message": "logout ends a login session; revoke an API token with "
                "DELETE /api/v1/tokens/{id}",
            }
        )
    revoke_session(request, identity)
    return HTTPNoContent()


@me.get(
    permission=READ,
    operation_id="getMe",
    summary="Who am I",
    responses={200: Documented("The caller's account, groups, roles and scopes.", ME)},
)
def me_view(request: Request) -> dict[str, Any]:
    identity = request.identity
    user = request.dbsession.get(User, identity.user_id)
    if user is None:  # deleted since the identity was cached a moment ago
        raise ProblemError(401, detail="the token's user is unknown or deactivated")
    data = user_json(user)
    request.response.headers["Cache-Control"] = "no-store"  # personal data
    return {
        "user": data,
        "groups": data["groups"],
        "roles": data["roles"],
        "scopes": sorted(identity.scopes) if identity.scopes is not None else None,
        "credential": identity.credential,
    }


@jwks.get(
    operation_id="getJwks",
    summary="The public key of access tokens (RS256/ES256 only)",
    responses={200: Documented("The key set; cacheable for 5 minutes.", JWKS)},
)
def jwks_view(request: Request) -> dict[str, Any]:
    jwks = get_token_codec(request.registry).jwks()
    if jwks is None:  # HS256: there is no public key to publish
        raise HTTPNotFound()
    request.response.headers["Cache-Control"] = "public, max-age=300"
    return jwks
