"""``/api/v1/auth/*``: login, refresh, logout, me; and ``/.well-known/jwks.json``."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNoContent, HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response

from benben.accounts.models import User
from benben.errors import ProblemError, problem_response
from benben.security.identity import INVALID_TOKEN_TYPE
from benben.security.jwt import get_token_codec
from benben.security.passwords import MAX_PASSWORD_LENGTH, get_password_hasher
from benben.security.throttle import get_login_throttle

from .services import (
    RefreshRefused,
    find_login_user,
    issue_token_pair,
    revoke_session,
    rotate_refresh_token,
    user_json,
    utcnow,
)
from .validation import field_error, invalid, json_object, string_field

__all__ = ["jwks_view", "login_view", "logout_view", "me_view", "refresh_view"]

LOGIN_FIELDS = ("username", "email", "login")
# Tokens must never sit in a browser or proxy cache.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
LOGIN_FAILED_DETAIL = "The username, email or password is not correct."


def login_view(request: Request) -> dict[str, Any]:
    body = json_object(request)
    given = [field for field in LOGIN_FIELDS if body.get(field) is not None]
    if len(given) != 1:
        raise invalid(field_error("username", "give exactly one of username, email or login"))
    field = given[0]
    identifier = string_field(body, field, max_length=254) or ""
    password = string_field(body, "password", max_length=MAX_PASSWORD_LENGTH) or ""
    throttle = get_login_throttle(request)
    account_key = identifier.strip().lower()
    throttle.check(request, account_key)

    hasher = get_password_hasher(request.registry)
    user = find_login_user(request, field, identifier)
    if user is None:
        hasher.verify_dummy(password)  # as slow as a wrong password: no user enumeration
        accepted = False
    else:
        accepted = hasher.verify(user.password_hash, password) and user.is_active
    if not accepted or user is None:
        throttle.record_failure(request, account_key)
        # One answer for unknown user, wrong password and deactivated account.
        raise ProblemError(
            401,
            title="Login failed",
            detail=LOGIN_FAILED_DETAIL,
            headers={"WWW-Authenticate": 'Bearer realm="benben"'},
        )
    throttle.reset(request, account_key)
    if hasher.needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    user.last_login_at = utcnow()
    request.response.headers.update(NO_STORE)
    return issue_token_pair(request, user)


def refresh_view(request: Request) -> dict[str, Any] | Response:
    body = json_object(request)
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


def jwks_view(request: Request) -> dict[str, Any]:
    jwks = get_token_codec(request.registry).jwks()
    if jwks is None:  # HS256: there is no public key to publish
        raise HTTPNotFound()
    request.response.headers["Cache-Control"] = "public, max-age=300"
    return jwks
