"""Account operations: users, groups, memberships.

Shared by the REST API and ``benben users``; both hand in a Pyramid request (the CLI a scripted
one from ``pyramid.scripting.prepare``) for its database session, transaction, cache and settings.
Every change that alters a user's principals (flags, username, memberships, group names, the
sessions cut-off) calls :func:`benben.security.invalidate_principals`, which drops the cached
facts once the transaction commits: on every instance sharing the cache.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pyramid.request import Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from benben.accounts.events import publish_user_event
from benben.accounts.models import Group, GroupMember, User
from benben.accounts.validation import (
    ConflictError,
    FieldErrors,
    clean_display_name,
    clean_email,
    clean_name,
    password_problems,
)
from benben.schema_messages import json_text
from benben.security import get_password_hasher, invalidate_principals
from benben.timestamps import iso

__all__ = [
    "NO_COLLECTIONS_GROUP",
    "NO_COLLECTIONS_USER",
    "create_user",
    "delete_user",
    "find_user",
    "group_names_by_user",
    "in_savepoint",
    "iso",
    "now",
    "set_password",
    "taken",
    "update_user",
    "user_json",
]

# Memberships are read with explicit queries; the models' eager collections would otherwise load
# whole groups (with all their members) for every user shown.
NO_COLLECTIONS_USER = (lazyload(User.groups),)
NO_COLLECTIONS_GROUP = (lazyload(Group.members),)


# -- users ----------------------------------------------------------------------------------


def create_user(
    request: Request,
    *,
    username: Any,
    password: Any,
    email: Any = None,
    display_name: Any = None,
    is_admin: bool = False,
    is_active: bool = True,
) -> User:
    """A new user; :class:`InvalidInputError` for bad fields, :class:`ConflictError` for a taken
    name (also when a concurrent request took it between the check and the insert)."""
    errors = FieldErrors()
    clean_username = clean_name(username, "username", errors)
    clean_mail = clean_email(email, errors)
    clean_display = clean_display_name(display_name, errors)
    for problem in password_problems(
        password, request.registry.settings, username=clean_username, email=clean_mail
    ):
        errors.add("password", problem)
    errors.raise_if_any()
    dbsession = request.dbsession
    _ensure_unique_user(dbsession, username=clean_username, email=clean_mail)
    user = User(
        username=clean_username,
        email=clean_mail,
        display_name=clean_display or "",
        password_hash=get_password_hasher(request.registry).hash(password),
        is_admin=is_admin,
        is_active=is_active,
    )
    in_savepoint(
        dbsession,
        lambda: dbsession.add(user),
        lambda: _user_conflict(dbsession, clean_username, clean_mail),
    )
    publish_user_event(request, "user.created", user)
    return user


def update_user(request: Request, user: User, changes: dict[str, Any]) -> set[str]:
    """Apply already validated ``changes`` (see views); returns the names of changed fields.

    ``password`` is hashed; ``is_admin``/``is_active`` keep one active administrator; ending
    sessions after a password change or deactivation is the caller's choice (see views).
    """
    dbsession = request.dbsession
    fields = {name: value for name, value in changes.items() if name != "password"}
    changed = {name for name, value in fields.items() if getattr(user, name) != value}
    if "username" in changed or "email" in changed:
        _ensure_unique_user(
            dbsession,
            username=changes["username"] if "username" in changed else None,
            email=changes["email"] if "email" in changed else None,
            exclude_id=user.id,
        )
    if (
        user.is_admin
        and user.is_active
        and (changes.get("is_admin") is False or changes.get("is_active") is False)
    ):
        field = "is_admin" if changes.get("is_admin") is False else "is_active"
        _ensure_other_active_admin(dbsession, user, field)
    if "password" in changes:
        password_hash = get_password_hasher(request.registry).hash(changes["password"])
        changed.add("password")

    def apply() -> None:
        for name in changed - {"password"}:
            setattr(user, name, changes[name])
        if "password" in changed:
            user.password_hash = password_hash
        user.updated_at = now()

    if changed:
        in_savepoint(
            dbsession,
            apply,
            lambda: _user_conflict(
                dbsession, changes.get("username"), changes.get("email"), exclude_id=user.id
            ),
        )
    if changed & {"username", "is_admin", "is_active"}:
        invalidate_principals(request, user.id)
    if changed:
        deactivated = "is_active" in changed and not user.is_active
        publish_user_event(
            request, "user.deactivated" if deactivated else "user.updated", user, changed
        )
    return changed


def set_password(request: Request, user: User, password: Any) -> None:
    """Check the policy and store the new hash (ending sessions is up to the caller)."""
    errors = FieldErrors()
    for problem in password_problems(
        password, request.registry.settings, username=user.username, email=user.email
    ):
        errors.add("password", problem)
    errors.raise_if_any()
    update_user(request, user, {"password": password})


def delete_user(request: Request, user: User) -> None:
    """Delete a user with their memberships and tokens; never the last active administrator."""
    if user.is_admin and user.is_active:
        _ensure_other_active_admin(request.dbsession, user, "id")
    publish_user_event(request, "user.deleted", user)
    request.dbsession.delete(user)
    request.dbsession.flush()
    invalidate_principals(request, user.id)


def find_user(dbsession: Session, key: str) -> User | None:
    """A user by id, username or email (case-insensitive for the latter two)."""
    lowered = key.strip().lower()
    query = select(User).options(*NO_COLLECTIONS_USER)
    user = dbsession.scalars(query.where(User.username == lowered)).one_or_none()
    if user is None and "@" in lowered:
        user = dbsession.scalars(query.where(User.email == lowered)).one_or_none()
    if user is None:
        user = dbsession.get(User, key, options=NO_COLLECTIONS_USER)
    return user


def group_names_by_user(dbsession: Session, user_ids: Iterable[str]) -> dict[str, list[str]]:
    ids = list(user_ids)
    names: dict[str, list[str]] = {user_id: [] for user_id in ids}
    if ids:
        rows = dbsession.execute(
            select(GroupMember.user_id, Group.name)
            .join(Group, Group.id == GroupMember.group_id)
            .where(GroupMember.user_id.in_(ids))
            .order_by(Group.name)
        )
        for user_id, name in rows:
            names[user_id].append(name)
    return names


def user_json(user: User, groups: Sequence[str]) -> dict[str, Any]:
    """A user as the API shows it: never the password hash."""
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "display_name": user.display_name,
        "is_active": user.is_active,
        "roles": ["admin"] if user.is_admin else [],
        "groups": list(groups),
        "last_login_at": iso(user.last_login_at),
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
    }


def _ensure_unique_user(
    dbsession: Session, *, username: str | None, email: str | None, exclude_id: str | None = None
) -> None:
    conflict = _user_conflict(dbsession, username, email, exclude_id=exclude_id)
    if conflict is not None:
        raise conflict


def _user_conflict(
    dbsession: Session, username: str | None, email: str | None, exclude_id: str | None = None
) -> ConflictError | None:
    for field, column, value in (("username", User.username, username),
                                 ("email", User.email, email)):  # fmt: skip
        if value is None:
            continue
        query = select(User.id).where(column == value)
        if exclude_id is not None:
            query = query.where(User.id != exclude_id)
        if dbsession.scalars(query).first() is not None:
            return taken(field, value)
    return None


def taken(field: str, value: str) -> ConflictError:
    return ConflictError(
        f"{field} {json_text(value)} is already taken",
        [{"location": "body", "pointer": f"/{field}", "message": "is already taken"}],
    )


def in_savepoint(
    dbsession: Session, apply: Callable[[], None], conflict: Callable[[], ConflictError | None]
) -> None:
    """Make the change and flush it in a savepoint: a unique violation from a concurrent request
    becomes the same 409 as the pre-check gives, and the transaction stays usable (PostgreSQL
    aborts it otherwise).  The change must happen inside: opening the savepoint flushes."""
    try:
        with dbsession.begin_nested():
            apply()
            dbsession.flush()
    except IntegrityError:
        found = conflict()
        raise found or ConflictError("a unique value is already taken") from None


def _ensure_other_active_admin(dbsession: Session, user: User, field: str) -> None:
    """Refuse to remove the last active administrator.

    The other admins' rows are locked (PostgreSQL; SQLite serialises writers anyway), so that two
    admins demoting each other at once cannot both succeed: one waits, then sees the other's
    change, or the deadlock is detected and the request retried.
    """
    other = dbsession.scalars(
        select(User.id)
        .where(User.is_admin.is_(True), User.is_active.is_(True), User.id != user.id)
        .with_for_update()
    ).first()
    if other is None:
        pointer = "" if field == "id" else f"/{field}"
        raise ConflictError(
            f"{user.username} is the last active administrator: make another user an "
            "administrator first",
            [{"location": "body", "pointer": pointer, "message": "last active administrator"}],
        )


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
