"""``/api/v1/groups``, ``/api/v1/groups/{id}`` and memberships (ACLs in :mod:`.resources`).

- ``GET /api/v1/groups`` (admins): a list in the API's list convention (``{"data", "next"}``;
  ``name__startswith``; see :mod:`.lists`); ``POST /api/v1/groups`` (admins) ``{"name",
  "description"?}`` -> 201.
- ``GET /api/v1/groups/{id}``: members of the group and admins; anyone else 404.
  ``PATCH`` (``name``, ``description``) and ``DELETE`` (-> 204): admins.
- ``GET /api/v1/groups/{id}/members`` (members and admins): a list of ``{"id", "username",
  "display_name"}``; ``POST`` ``{"user_id"}`` or ``{"username"}``
  (admins) adds a member: 201, or 200 when they already were one.
- ``GET|PUT|DELETE /api/v1/groups/{id}/members/{user_id}``: is a member (200, else 404), add
  (201, or 200 if already), remove (204, or 404 when not a member); PUT and DELETE: admins.

Groups are addressed by id or by name, members by user id or by username
(``/api/v1/groups/staff/members/alice``; see :mod:`.resources`); answers and ``Location``
headers carry ids.

Renaming or deleting a group and changing its members take effect on the members' next request
on every instance (their cached principals are dropped after the commit).
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from sqlalchemy import select

import benben.accounts.groups as groups_service
import benben.accounts.services as services
from benben.accounts.lists import GROUPS, MEMBERS, groups_page, member_json, members_page
from benben.accounts.models import User
from benben.accounts.resources import (
    GROUP_IN_PATH,
    MEMBER_IN_PATH,
    GroupResource,
    GroupsRoot,
    user_by_id_or_username,
)
from benben.accounts.schemas import (
    GROUP,
    GROUP_CREATE,
    GROUP_UPDATE,
    MEMBER,
    MEMBER_REQUEST,
)
from benben.accounts.validation import (
    FieldErrors,
    clean_description,
    clean_name,
    reject_unknown_fields,
)
from benben.rest import Response as Documented
from benben.rest import Service
from benben.security.permissions import ADMIN, READ

__all__ = ["group_item", "group_member", "group_members", "groups"]

groups = Service(
    name="api.groups",
    path="/api/v1/groups",
    factory=GroupsRoot,
    description="Groups (admins).",
    tags=["accounts"],
)
group_item = Service(
    name="api.groups.item",
    path="/api/v1/groups/{id}",
    factory=GroupResource,
    description="One group: its members and administrators may read it.",
    tags=["accounts"],
)
group_members = Service(
    name="api.groups.members",
    path="/api/v1/groups/{id}/members",
    factory=GroupResource,
    description="The members of a group.",
    tags=["accounts"],
)
group_member = Service(
    name="api.groups.member",
    path="/api/v1/groups/{id}/members/{user_id}",
    factory=GroupResource,
    description="One membership.",
    tags=["accounts"],
)
MEMBER_URL = {"Location": "The membership's URL."}


@groups.get(
    permission=READ,
    operation_id="listGroups",
    summary="List groups (administrators)",
    parameters=GROUPS.parameters(),
    responses={200: GROUPS.response("One page of groups, by name by default.", GROUP, "GroupList")},
)
def list_groups_view(request: Request) -> dict[str, Any]:
    return groups_page(request)


@groups.post(
    permission=ADMIN,
    operation_id="createGroup",
    summary="Create a group (administrators)",
    body_schema=GROUP_CREATE,
    responses={
        201: Documented("Created.", GROUP, {"Location": "The new group's URL."}),
        409: "The name is taken (pointer `/name`).",
    },
)
def create_group_view(request: Request) -> dict[str, Any]:
    body = request.validated
    errors = FieldErrors()
    reject_unknown_fields(body, ("name", "description"), errors)
    if "name" not in body:
        errors.add("name", "is required")
    errors.raise_if_any()
    group = groups_service.create_group(
        request, name=body["name"], description=body.get("description")
    )
    request.response.status_code = 201
    request.response.headers["Location"] = request.route_url("api.groups.item", id=group.id)
    return groups_service.group_json(request.dbsession, group)


@group_item.get(
    permission=READ,
    operation_id="getGroup",
    parameters=(GROUP_IN_PATH,),
    summary="One group (its members and administrators; anyone else 404)",
    responses={200: Documented("The group.", GROUP)},
)
def get_group_view(request: Request) -> dict[str, Any]:
    return groups_service.group_json(request.dbsession, request.context.group)


@group_item.patch(
    permission=ADMIN,
    operation_id="updateGroup",
    parameters=(GROUP_IN_PATH,),
    summary="Rename or describe a group (administrators)",
    body_schema=GROUP_UPDATE,
    responses={
        200: Documented("The changed group.", GROUP),
        409: "The name is taken (pointer `/name`).",
    },
)
def update_group_view(request: Request) -> dict[str, Any]:
    body = request.validated
    errors = FieldErrors()
    reject_unknown_fields(body, ("name", "description"), errors)
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = clean_name(body["name"], "name", errors)
    if "description" in body:
        changes["description"] = clean_description(body["description"], errors)
    errors.raise_if_any()
    group = request.context.group
    groups_service.update_group(request, group, changes)
    return groups_service.group_json(request.dbsession, group)


@group_item.delete(
    permission=ADMIN,
    operation_id="deleteGroup",
    parameters=(GROUP_IN_PATH,),
    summary="Delete a group (administrators)",
    responses={204: "Deleted; its members lose the group at once."},
)
def delete_group_view(request: Request) -> Response:
    groups_service.delete_group(request, request.context.group)
    return Response(status=204)


@group_members.get(
    permission=READ,
    operation_id="listGroupMembers",
    summary="Members of a group (its members and administrators)",
    parameters=(GROUP_IN_PATH, *MEMBERS.parameters()),
    responses={200: MEMBERS.response("One page of members, by username.", MEMBER, "MemberList")},
)
def list_members_view(request: Request) -> dict[str, Any]:
    return members_page(request, request.context.group)


@group_members.post(
    permission=ADMIN,
    operation_id="addGroupMember",
    parameters=(GROUP_IN_PATH,),
    summary="Add a member (administrators)",
    body_schema=MEMBER_REQUEST,
    responses={
        200: Documented("Already a member.", MEMBER, MEMBER_URL),
        201: Documented("Added.", MEMBER, MEMBER_URL),
    },
)
def add_member_view(request: Request) -> dict[str, Any]:
    body = request.validated
    errors = FieldErrors()
    reject_unknown_fields(body, ("user_id", "username"), errors)
    if ("user_id" in body) == ("username" in body):
        errors.add("", "give exactly one of user_id and username")
    field = "user_id" if "user_id" in body else "username"
    value = body.get(field)
    if not errors and not isinstance(value, str):
        errors.add(field, "must be a string")
    errors.raise_if_any()
    user = _user_by(request, field, value)
    if user is None:
        errors.add(field, "no such user")
        errors.raise_if_any()
    return _add(request, user)


@group_member.get(
    permission=READ,
    operation_id="getGroupMember",
    parameters=(GROUP_IN_PATH, MEMBER_IN_PATH),
    summary="Whether a user is a member (200) or not (404)",
    responses={200: Documented("A member.", MEMBER)},
)
def get_member_view(request: Request) -> dict[str, Any]:
    user = user_by_id_or_username(request.dbsession, request.matchdict["user_id"])
    if user is None or not groups_service.is_member(request.dbsession, request.context.group, user):
        raise HTTPNotFound()
    return member_json(user)


@group_member.put(
    permission=ADMIN,
    operation_id="putGroupMember",
    parameters=(GROUP_IN_PATH, MEMBER_IN_PATH),
    summary="Add a member (administrators)",
    responses={
        200: Documented("Already a member.", MEMBER, MEMBER_URL),
        201: Documented("Added.", MEMBER, MEMBER_URL),
    },
)
def put_member_view(request: Request) -> dict[str, Any]:
    user = user_by_id_or_username(request.dbsession, request.matchdict["user_id"])
    if user is None:
        raise HTTPNotFound()
    return _add(request, user)


@group_member.delete(
    permission=ADMIN,
    operation_id="removeGroupMember",
    parameters=(GROUP_IN_PATH, MEMBER_IN_PATH),
    summary="Remove a member (administrators)",
    responses={204: "Removed.", 404: "No such group or user, or not a member."},
)
def remove_member_view(request: Request) -> Response:
    user = user_by_id_or_username(request.dbsession, request.matchdict["user_id"])
    if user is None or not groups_service.remove_member(request, request.context.group, user):
        raise HTTPNotFound()
    return Response(status=204)


def _add(request: Request, user: User) -> dict[str, Any]:
    group = request.context.group
    added = groups_service.add_member(request, group, user)
    request.response.status_code = 201 if added else 200
    request.response.headers["Location"] = request.route_url(
        "api.groups.member", id=group.id, user_id=user.id
    )
    return member_json(user)


def _user_by(request: Request, field: str, value: str) -> User | None:
    if field == "user_id":
        return request.dbsession.get(User, value, options=services.NO_COLLECTIONS_USER)
    query = select(User).options(*services.NO_COLLECTIONS_USER)
    return request.dbsession.scalars(query.where(User.username == value.lower())).one_or_none()
