"""Principals and the cached facts they are computed from.

What a request's principals depend on (is the user active, an admin, in which groups, since when
are their sessions valid) is cached as plain data under ``principals:<user id>``, so that an
authenticated request costs no database query in the common case.  Whoever changes one of those
facts calls :func:`invalidate_principals` in the same transaction: the key is dropped once it
commits.
"""

from __future__ import annotations

import datetime
from typing import Any, NotRequired, TypedDict

from pyramid.authorization import Authenticated, Everyone
from pyramid.request import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

__all__ = [
    "ADMIN_ROLE",
    "AUTHENTICATED",
    "EVERYONE",
    "PrincipalFacts",
    "group_principal",
    "invalidate_principals",
    "load_principal_facts",
    "principals_cache_key",
    "principals_for",
    "user_principal",
]

EVERYONE = Everyone
AUTHENTICATED = Authenticated
ADMIN_ROLE = "role:admin"


def user_principal(user_id: str) -> str:
    return f"user:{user_id}"


def group_principal(name: str) -> str:
    return f"group:{name}"


class PrincipalFacts(TypedDict):
    """What identity needs to know about a user; plain data, so any cache backend can keep it."""

    username: str
    is_active: bool
    is_admin: bool
    groups: list[str]
    # POSIX timestamp (float) or None: access tokens issued before it are refused.
    sessions_valid_after: float | None
    # With memory caches: the auth epoch the facts were read at (see benben.security.epoch).
    epoch: NotRequired[int]


def principals_cache_key(user_id: str) -> str:
    return f"principals:{user_id}"


def load_principal_facts(dbsession: Session, user_id: str) -> PrincipalFacts | None:
    """The facts from the database; None when the user does not exist."""
    from benben.accounts.models import Group, GroupMember, User

    row = dbsession.execute(
        select(User.username, User.is_active, User.is_admin, User.sessions_valid_after).where(
            User.id == user_id
        )
    ).one_or_none()
    if row is None:
        return None
    groups = dbsession.scalars(
        select(Group.name)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.user_id == user_id)
        .order_by(Group.name)
    ).all()
    return PrincipalFacts(
        username=row.username,
        is_active=bool(row.is_active),
        is_admin=bool(row.is_admin),
        groups=list(groups),
        sessions_valid_after=_timestamp(row.sessions_valid_after),
    )


def _timestamp(moment: datetime.datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite returns naive datetimes; they were stored as UTC
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def principals_for(user_id: str, facts: PrincipalFacts) -> frozenset[str]:
    principals = {EVERYONE, AUTHENTICATED, user_principal(user_id)}
    principals.update(group_principal(name) for name in facts["groups"])
    if facts["is_admin"]:
        principals.add(ADMIN_ROLE)
    return frozenset(principals)


def invalidate_principals(request: Request, *user_ids: Any) -> None:
    """Drop the cached principal facts of these users once the current transaction commits.

    Call it whenever a user's memberships, active or admin flag, username, a group's name, or
    ``sessions_valid_after`` change (and when a user is deleted).
    """
    keys = [principals_cache_key(str(user_id)) for user_id in user_ids if user_id]
    if keys:
        from benben.security.epoch import outdate_identities_after_commit

        request.cache.invalidate_after_commit(*keys)
        outdate_identities_after_commit(request)
