"""``/api/v1/users`` and ``/api/v1/users/{id}`` (Cornice services, ACLs in :mod:`.resources`).

- ``GET /api/v1/users`` (admins): a list in the API's list convention (``{"data", "next"}``,
  ``_limit``, ``_cursor``, ``_sort``, ``_count``, ``username__startswith``; see :mod:`.lists`).
- ``POST /api/v1/users`` (admins): ``{"username", "password", "email"?, "display_name"?,
  "is_admin"?, "is_active"?}`` -> 201 with the user and ``Location``.
- ``GET /api/v1/users/{id}`` (id or username): the user themself or an admin; anyone else 404.
- ``PATCH /api/v1/users/{id}``: partial update.  Users change their own ``display_name``,
  ``email`` and ``password``; ``username``, ``is_admin``, ``is_active`` and every change to
  somebody else's account need the ADMIN permission (403 otherwise: no self-promotion, no
  self-reactivation).
- ``DELETE /api/v1/users/{id}`` (admins) -> 204.

Changing one's own password (admins included) needs ``current_password``.  A missing or wrong
one is a 400 validation problem with the pointer ``/current_password`` (not 401: the bearer
token is fine, and clients treat 401 as "log in again"; not 403: the form field is what is
wrong).  Wrong guesses count as failed logins of the account and of the client address (login
throttling): over the limit, 429 with ``Retry-After``.  The change ends the user's *other*
sessions: their refresh tokens are revoked and every access token issued before now is refused,
the caller's own included.  The caller keeps working: its refresh token (same session) stays
valid, and the response carries a fresh access token for that session under ``"session":
{"access_token", "token_type", "expires_in"}``.  Through an API token, every login session ends
and the API token keeps working.  An administrator setting somebody else's password ends *all*
of that user's sessions.

Deactivating a user ends all their sessions at once (tokens are refused on every instance after
the commit).  The last active administrator cannot be demoted, deactivated or deleted (409).
Duplicate usernames or emails are 409 problems whose pointer names the field.
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response

import benben.accounts.services as services
from benben.accounts.lists import USERS, users_page
from benben.accounts.resources import USER_IN_PATH, UserResource, UsersRoot
from benben.accounts.schemas import (
    UPDATED_USER,
    USER,
    USER_CREATE,
    USER_UPDATE,
)
from benben.accounts.validation import (
    FieldErrors,
    ForbiddenError,
    check_boolean,
    clean_display_name,
    clean_email,
    clean_name,
    password_problems,
    reject_unknown_fields,
)
from benben.ratelimit.throttle import account_key, get_login_throttle
from benben.rest import Response as Documented
from benben.rest import Service
from benben.security import get_password_hasher
from benben.security.jwt import get_token_codec
from benben.security.permissions import ADMIN, READ, WRITE
from benben.security.sessions import end_other_sessions

__all__ = ["user_item", "users"]

users = Service(
    name="api.users",
    path="/api/v1/users",
    factory=UsersRoot,
    description="Users (administrators only).",
    tags=["accounts"],
)
user_item = Service(
    name="api.users.item",
    path="/api/v1/users/{id}",
    factory=UserResource,
    description="One user: themself or an administrator.",
    tags=["accounts"],
)

CREATE_FIELDS = ("username", "password", "email", "display_name", "is_admin", "is_active")
UPDATE_FIELDS = (*CREATE_FIELDS, "current_password")
# Fields only the ADMIN permission may change, even on one's own account.
PRIVILEGED_FIELDS = ("username", "is_admin", "is_active")


@users.get(
    permission=READ,
    operation_id="listUsers",
    summary="List users (administrators)",
    description="Users, by username unless `_sort` says otherwise (docs/api-conventions.md). "
    "Unknown query parameters are refused (400), so that a misspelt filter never lists everyone.",
    parameters=USERS.parameters(),
    responses={200: USERS.response("One page of users.", USER, "UserList")},
)
def list_users_view(request: Request) -> dict[str, Any]:
    return users_page(request)


@users.post(
    permission=ADMIN,
    operation_id="createUser",
    summary="Create a user (administrators)",
    body_schema=USER_CREATE,
    responses={
        201: Documented("Created.", USER, {"Location": "The new user's URL."}),
        409: "The username or email is taken: `errors[].pointer` names which.",
    },
)
def create_user_view(request: Request) -> dict[str, Any]:
    body = request.validated
    errors = FieldErrors()
    reject_unknown_fields(body, CREATE_FIELDS, errors)
    for field in ("username", "password"):
        if field not in body:
            errors.add(field, "is required")
    flags = {f: check_boolean(body, f, errors) for f in ("is_admin", "is_active") if f in body}
    errors.raise_if_any()
    user = services.create_user(
        request,
        username=body["username"],
        password=body["password"],
        email=body.get("email"),
        display_name=body.get("display_name"),
        is_admin=bool(flags.get("is_admin", False)),
        is_active=bool(flags.get("is_active", True)),
    )
    request.response.status_code = 201
    request.response.headers["Location"] = request.route_url("api.users.item", id=user.id)
    return services.user_json(user, [])


@user_item.get(
    permission=READ,
    operation_id="getUser",
    parameters=(USER_IN_PATH,),
    summary="One user (themself or an administrator; anyone else 404)",
    responses={200: Documented("The user.", USER)},
)
def get_user_view(request: Request) -> dict[str, Any]:
    return _users_json(request, [request.context.user])[0]


@user_item.patch(
    permission=WRITE,
    operation_id="updateUser",
    parameters=(USER_IN_PATH,),
    summary="Change a user",
    description="Changing one's own password needs `current_password` (missing or wrong: 400 "
    "with the pointer `/current_password`); it ends the user's other sessions, and the "
    "response carries a fresh access token under `session`. An administrator setting somebody "
    "else's password, or deactivating them, ends all their sessions.",
    body_schema=USER_UPDATE,
    responses={
        200: Documented("The changed user.", UPDATED_USER),
        403: "Only administrators may change this (`errors` names the fields).",
        409: "The username or email is taken, or this is the last active administrator.",
        429: "Too many wrong `current_password` guesses (`Retry-After`).",
    },
)
def update_user_view(request: Request) -> dict[str, Any]:
    user = request.context.user
    identity = request.identity
    is_self = identity.user_id == user.id
    body = request.validated
    errors = FieldErrors()
    reject_unknown_fields(body, UPDATE_FIELDS, errors)
    errors.raise_if_any()
    _check_may_change(request, body, is_self)
    changes = _clean_changes(request, user, body, errors)
    if "password" in changes and is_self:
        _check_current_password(request, user, body, errors)
    elif "current_password" in body:
        errors.add("current_password", "is only needed to change your own password")
    errors.raise_if_any()
    changed = services.update_user(request, user, changes)
    result = _users_json(request, [user])[0]
    if "is_active" in changed and not user.is_active:
        end_other_sessions(request, user)  # all of them, whoever asked
    elif "password" in changed:
        keep = identity.session_id if is_self and identity.credential == "jwt" else None
        end_other_sessions(request, user, keep_family_id=keep)
        if keep:
            access = get_token_codec(request.registry).issue(user.id, sid=keep)
            result["session"] = {
                "access_token": access.token,
                "token_type": "Bearer",
                "expires_in": access.expires_in,
            }
            request.response.headers["Cache-Control"] = "no-store"
    return result


@user_item.delete(
    permission=ADMIN,
    operation_id="deleteUser",
    parameters=(USER_IN_PATH,),
    summary="Delete a user (administrators)",
    responses={
        204: "Deleted, with their memberships and tokens.",
        409: "The last active administrator cannot be deleted.",
    },
)
def delete_user_view(request: Request) -> Response:
    services.delete_user(request, request.context.user)
    return Response(status=204)


def _check_may_change(request: Request, body: dict[str, Any], is_self: bool) -> None:
    if request.has_permission(ADMIN, request.context):
        return
    if not is_self:
        raise ForbiddenError("Only administrators may change other users' accounts.")
    privileged = [field for field in PRIVILEGED_FIELDS if field in body]
    if privileged:
        raise ForbiddenError(
            f"Only administrators may change {', '.join(privileged)}.",
            [
                {"location": "body", "pointer": f"/{field}", "message": "administrators only"}
                for field in privileged
            ],
        )


def _clean_changes(
    request: Request, user: Any, body: dict[str, Any], errors: FieldErrors
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "username" in body:
        changes["username"] = clean_name(body["username"], "username", errors)
    if "email" in body:
        changes["email"] = clean_email(body["email"], errors)
    if "display_name" in body:
        changes["display_name"] = clean_display_name(body["display_name"], errors)
    for flag in ("is_admin", "is_active"):
        if flag in body:
            changes[flag] = check_boolean(body, flag, errors)
    if "password" in body:
        username = changes.get("username") or user.username
        email = changes.get("email", user.email)
        for problem in password_problems(
            body["password"], request.registry.settings, username=username, email=email
        ):
            errors.add("password", problem)
        changes["password"] = body["password"]
    return changes


def _check_current_password(
    request: Request, user: Any, body: dict[str, Any], errors: FieldErrors
) -> None:
    current = body.get("current_password")
    if current is None:
        errors.add("current_password", "is required to change your own password")
    elif not isinstance(current, str):
        errors.add("current_password", "must be a string")
    else:
        # Guesses at the current password count as failed logins of the account: a stolen
        # access token must not become an unthrottled password oracle.  Counted before the
        # check, like a login; the right password gives the reservation back.
        attempt = get_login_throttle(request).acquire(request, account_key(user.id, ""))
        if get_password_hasher(request.registry).verify(user.password_hash, current):
            attempt.succeeded()
        else:
            errors.add("current_password", "is not your current password")


def _users_json(request: Request, found: list[Any]) -> list[dict[str, Any]]:
    groups = services.group_names_by_user(request.dbsession, [user.id for user in found])
    return [services.user_json(user, groups[user.id]) for user in found]
