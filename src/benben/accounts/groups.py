"""Group operations: groups, memberships (see :mod:`benben.accounts.services` for the rules on
principals: every change here drops the affected members' cached principals after commit)."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from benben.accounts.events import publish_group_event, publish_member_event
from benben.accounts.models import Group, GroupMember, User
from benben.accounts.services import (
    NO_COLLECTIONS_GROUP,
    in_savepoint,
    now,
    taken,
)
from benben.accounts.validation import FieldErrors, clean_description, clean_name
from benben.security import invalidate_principals
from benben.timestamps import iso

__all__ = [
    "add_member",
    "create_group",
    "delete_group",
    "group_json",
    "is_member",
    "member_ids",
    "remove_member",
    "update_group",
]


def create_group(request: Request, *, name: Any, description: Any = None) -> Group:
    errors = FieldErrors()
    clean = clean_name(name, "name", errors)
    text = clean_description(description, errors)
    errors.raise_if_any()
    dbsession = request.dbsession
    if _group_named(dbsession, clean) is not None:
        raise taken("name", clean)
    group = Group(name=clean, description=text or "")
    in_savepoint(dbsession, lambda: dbsession.add(group), lambda: taken("name", clean))
    publish_group_event(request, "group.created", group)
    return group


def update_group(request: Request, group: Group, changes: dict[str, Any]) -> set[str]:
    """Apply validated ``changes`` (``name``, ``description``); a rename changes principals."""
    dbsession = request.dbsession
    changed = {name for name, value in changes.items() if getattr(group, name) != value}
    if "name" in changed:
        existing = _group_named(dbsession, changes["name"])
        if existing is not None and existing.id != group.id:
            raise taken("name", changes["name"])

    def apply() -> None:
        for name in changed:
            setattr(group, name, changes[name])
        group.updated_at = now()

    if changed:
        in_savepoint(dbsession, apply, lambda: taken("name", changes.get("name", "")))
    if "name" in changed:
        invalidate_principals(request, *member_ids(dbsession, group))
    if changed:
        publish_group_event(request, "group.updated", group, changed)
    return changed


def delete_group(request: Request, group: Group) -> None:
    members = member_ids(request.dbsession, group)
    publish_group_event(request, "group.deleted", group)
    request.dbsession.delete(group)
    request.dbsession.flush()
    invalidate_principals(request, *members)


def group_json(dbsession: Session, group: Group) -> dict[str, Any]:
    count = dbsession.scalar(
        select(func.count()).select_from(GroupMember).where(GroupMember.group_id == group.id)
    )
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "member_count": count or 0,
        "created_at": iso(group.created_at),
        "updated_at": iso(group.updated_at),
    }


def member_ids(dbsession: Session, group: Group) -> list[str]:
    return list(
        dbsession.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group.id))
    )


def is_member(dbsession: Session, group: Group, user: User) -> bool:
    return dbsession.get(GroupMember, (group.id, user.id)) is not None


def add_member(request: Request, group: Group, user: User) -> bool:
    """Add ``user`` to ``group``; False when they already were a member (idempotent)."""
    dbsession = request.dbsession
    if is_member(dbsession, group, user):
        return False
    try:
        with dbsession.begin_nested():
            dbsession.add(GroupMember(group_id=group.id, user_id=user.id))
            dbsession.flush()
    except IntegrityError:  # a concurrent request added them first: same outcome
        return False
    invalidate_principals(request, user.id)
    publish_member_event(request, "group.member_added", group, user)
    return True


def remove_member(request: Request, group: Group, user: User) -> bool:
    """Remove ``user`` from ``group``; False when they were not a member."""
    membership = request.dbsession.get(GroupMember, (group.id, user.id))
    if membership is None:
        return False
    request.dbsession.delete(membership)
    request.dbsession.flush()
    invalidate_principals(request, user.id)
    publish_member_event(request, "group.member_removed", group, user)
    return True


def _group_named(dbsession: Session, name: str) -> Group | None:
    query = select(Group).options(*NO_COLLECTIONS_GROUP).where(Group.name == name)
    return dbsession.scalars(query).one_or_none()
