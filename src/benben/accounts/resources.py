"""Context factories (with ``__acl__``) of the accounts API.

Who may do what:

- ``/api/v1/users`` and ``/api/v1/groups``: administrators only, for listing (READ) as for
  creating (ADMIN).  Non-admins get 403, anonymous callers 401.  A user's own account and groups
  are in ``GET /api/v1/auth/me``.
Users and groups are addressed by id or by name (``/api/v1/groups/staff``,
``/api/v1/users/alice``): a segment shaped like a UUID is an id, anything else a name (names may
not look like UUIDs).  Responses and ``Location`` headers always carry ids.

- ``/api/v1/users/{id}``: the user themself may READ and WRITE it; administrators may do
  anything.  Anyone else gets **404**, exactly as for an id that does not exist: whether an
  account exists is not theirs to learn.  Anonymous callers get 401 (before any lookup).
- ``/api/v1/groups/{id}`` (and its members): members of the group may READ it; administrators may
  do anything; anyone else gets 404.

Managing accounts (creating, deleting, changing another user, flags, groups, memberships) needs
the ADMIN permission: an administrator's login session or an API token with the ``admin`` scope;
an admin's ``read``/``write`` token cannot change accounts.
"""

from __future__ import annotations

from typing import Any

from pyramid.authorization import ACLHelper, Allow
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from benben.accounts.models import Group, User
from benben.accounts.services import NO_COLLECTIONS_GROUP, NO_COLLECTIONS_USER
from benben.accounts.validation import is_uuid_shaped
from benben.rest import Parameter
from benben.security.permissions import ALL_PERMISSIONS, READ, WRITE
from benben.security.principals import ADMIN_ROLE, group_principal, user_principal

__all__ = [
    "GROUP_IN_PATH",
    "MEMBER_IN_PATH",
    "USER_IN_PATH",
    "GroupResource",
    "GroupsRoot",
    "UserResource",
    "UsersRoot",
    "group_by_id_or_name",
    "user_by_id_or_username",
]

ACL = list[tuple[str, str, Any]]
_ADMINS: ACL = [(Allow, ADMIN_ROLE, ALL_PERMISSIONS)]

# What the OpenAPI document says of the segments (the placeholders keep their v1 names).
_BY_ID_OR_NAME = {"type": "string"}
USER_IN_PATH = Parameter("id", "path", _BY_ID_OR_NAME, "The user's id, or their username.")
GROUP_IN_PATH = Parameter("id", "path", _BY_ID_OR_NAME, "The group's id, or its name.")
MEMBER_IN_PATH = Parameter("user_id", "path", _BY_ID_OR_NAME, "The user's id, or their username.")


class UsersRoot:
    """``/api/v1/users``: only administrators list and create users."""

    __acl__: ACL = list(_ADMINS)

    def __init__(self, request: Request) -> None:
        self.request = request


class GroupsRoot:
    """``/api/v1/groups``: only administrators list and create groups."""

    __acl__: ACL = list(_ADMINS)

    def __init__(self, request: Request) -> None:
        self.request = request


class _Hidden:
    """Loads the item named in the URL; a caller who may not READ it gets the 404 of an item
    that does not exist.  Anonymous callers skip the lookup: the ACL denies them, so 401."""

    __acl__: ACL

    def _reveal_or_hide(self, request: Request, found: Any) -> None:
        identity = request.identity  # a presented but invalid credential: 401 here
        if identity is None:
            return
        if found is None or not ACLHelper().permits(self, identity.principals, READ):
            raise HTTPNotFound()


class UserResource(_Hidden):
    """``/api/v1/users/{id}`` (id or username): the user themself (READ, WRITE) and
    administrators (all)."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.__acl__ = list(_ADMINS)
        self.user: User | None = None
        if request.identity is not None:
            self.user = user_by_id_or_username(request.dbsession, request.matchdict["id"])
            if self.user is not None:
                self.__acl__.append((Allow, user_principal(self.user.id), (READ, WRITE)))
        self._reveal_or_hide(request, self.user)


class GroupResource(_Hidden):
    """``/api/v1/groups/{id}`` (id or name) and its members: members READ, administrators
    all."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.__acl__ = list(_ADMINS)
        self.group: Group | None = None
        if request.identity is not None:
            self.group = group_by_id_or_name(request.dbsession, request.matchdict["id"])
            if self.group is not None:
                self.__acl__.append((Allow, group_principal(self.group.name), READ))
        self._reveal_or_hide(request, self.group)


def user_by_id_or_username(dbsession: Session, segment: str) -> User | None:
    """The user a URL segment names: by id when it is shaped like a UUID, else by username."""
    key = segment.lower()  # ids and names are stored lowercased
    if is_uuid_shaped(key):
        return dbsession.get(User, key, options=NO_COLLECTIONS_USER)
    query = select(User).options(*NO_COLLECTIONS_USER).where(User.username == key)
    return dbsession.scalars(query).one_or_none()


def group_by_id_or_name(dbsession: Session, segment: str) -> Group | None:
    """The group a URL segment names: by id when it is shaped like a UUID, else by name."""
    key = segment.lower()
    if is_uuid_shaped(key):
        return dbsession.get(Group, key, options=NO_COLLECTIONS_GROUP)
    query = select(Group).options(*NO_COLLECTIONS_GROUP).where(Group.name == key)
    return dbsession.scalars(query).one_or_none()
