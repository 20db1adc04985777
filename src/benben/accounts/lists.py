"""The accounts' lists: users, groups, a group's members, in the API's one list convention
(:mod:`benben.listing`, docs/api-conventions.md).

Each list sorts by the fields of its :class:`~benben.listing.Listing` and filters by name prefix
with ``<name field>__startswith=`` (case-insensitive: names are stored lowercased), the
records' operator syntax.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyramid.request import Request
from sqlalchemy import select

import benben.accounts.groups as groups_service
import benben.accounts.services as services
from benben.accounts.models import Group, GroupMember, User
from benben.listing import Listing, fetch_page, invalid_parameter, list_response
from benben.rest import Parameter

__all__ = ["GROUPS", "MEMBERS", "USERS", "groups_page", "member_json", "members_page", "users_page"]

MAX_PREFIX_LENGTH = 64


def _prefix_filter(name: str, what: str) -> Parameter:
    return Parameter(
        f"{name}__startswith",
        schema={"type": "string", "maxLength": MAX_PREFIX_LENGTH},
        description=f"Only {what} whose {name} starts with this (case-insensitive; no wildcards).",
    )


USERS = Listing(
    sortable=("username", "created_at", "updated_at"),
    default_sort="username",
    filters=(_prefix_filter("username", "users"),),
)
GROUPS = Listing(
    sortable=("name", "created_at", "updated_at"),
    default_sort="name",
    filters=(_prefix_filter("name", "groups"),),
)
MEMBERS = Listing(sortable=("username",), default_sort="username")


def _prefix(filters: Mapping[str, str], name: str) -> str | None:
    value = filters.get(name)
    if value is not None and len(value) > MAX_PREFIX_LENGTH:
        raise invalid_parameter(name, f"must be at most {MAX_PREFIX_LENGTH} characters long")
    return value.lower() if value else None


def _named_page(request: Request, listing: Listing, model: Any, name: str, options: Any) -> Any:
    """A page of users or groups, sorted by the listing's fields and filtered by name prefix."""
    params = listing.parse(request)
    query = select(model).options(*options)
    prefix = _prefix(params.filters, f"{name}__startswith")
    if prefix:
        query = query.where(getattr(model, name).startswith(prefix, autoescape=True))
    columns = {field: getattr(model, field) for field in (*listing.sortable, listing.unique)}
    return fetch_page(request.dbsession, query, params, columns)


def users_page(request: Request) -> dict[str, Any]:
    page = _named_page(request, USERS, User, "username", services.NO_COLLECTIONS_USER)
    groups = services.group_names_by_user(request.dbsession, [user.id for user in page.items])
    data = [services.user_json(user, groups[user.id]) for user in page.items]
    return list_response(request, data, page.next_cursor, page.total)


def groups_page(request: Request) -> dict[str, Any]:
    page = _named_page(request, GROUPS, Group, "name", services.NO_COLLECTIONS_GROUP)
    data = [groups_service.group_json(request.dbsession, group) for group in page.items]
    return list_response(request, data, page.next_cursor, page.total)


def members_page(request: Request, group: Group) -> dict[str, Any]:
    params = MEMBERS.parse(request)
    query = (
        select(User)
        .options(*services.NO_COLLECTIONS_USER)
        .join(GroupMember, GroupMember.user_id == User.id)
        .where(GroupMember.group_id == group.id)
    )
    page = fetch_page(request.dbsession, query, params, {"username": User.username, "id": User.id})
    data = [member_json(user) for user in page.items]
    return list_response(request, data, page.next_cursor, page.total)


def member_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name}
