"""Users' and groups' changes on the change feed (:mod:`benben.events`): who a user is now, never
a password hash."""

from __future__ import annotations

from collections.abc import Iterable

from pyramid.request import Request

from benben.accounts.models import Group, User
from benben.events.feed import publish

__all__ = ["publish_group_event", "publish_member_event", "publish_user_event"]


def publish_user_event(
    request: Request, event_type: str, user: User, changed: Iterable[str] = ()
) -> None:
    data = {
        "user": {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "is_admin": user.is_admin,
            "is_active": user.is_active,
        }
    }
    if changed:
        data["changed"] = sorted(changed)  # "password" included: that it changed, not to what
    publish(request, event_type, data)


def publish_group_event(
    request: Request, event_type: str, group: Group, changed: Iterable[str] = ()
) -> None:
    data = {"group": {"id": group.id, "name": group.name, "description": group.description}}
    if changed:
        data["changed"] = sorted(changed)
    publish(request, event_type, data)


def publish_member_event(request: Request, event_type: str, group: Group, user: User) -> None:
    data = {"group": {"id": group.id, "name": group.name}, "user": {"id": user.id}}
    publish(request, event_type, data)
