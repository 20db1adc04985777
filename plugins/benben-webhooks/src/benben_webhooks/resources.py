"""Who may do what with webhooks: context factories with ``__acl__``, and the permissions.

- ``/api/v1/webhooks``: any authenticated caller lists (their own endpoints; administrators
  every one) and creates (for collections they may read; see :mod:`.validation`).
- ``/api/v1/webhooks/{id}`` and below: its owner and administrators.  Anyone else gets **404**,
  as for an id that does not exist: whose endpoints exist is not theirs to learn.  Anonymous
  callers get 401, before any lookup.

The permissions are core's names (``read``, ``create``, ``write``), so that API-token scopes
apply as everywhere: a ``read`` token lists and reads, a ``write`` token manages.
"""

from __future__ import annotations

from typing import Any

from pyramid.authorization import ALL_PERMISSIONS, ACLHelper, Allow, Authenticated
from pyramid.httpexceptions import HTTPNotFound

from benben.plugin import Parameter, Request

from .models import Endpoint

__all__ = [
    "ADMIN_ROLE",
    "CREATE",
    "ENDPOINT_IN_PATH",
    "READ",
    "WRITE",
    "WebhookResource",
    "WebhooksRoot",
    "is_admin",
    "user_principal",
]

# Core's permission and principal names (benben.security.permissions / principals): the ones
# API-token scopes and the security policy know.
READ = "read"
CREATE = "create"
WRITE = "write"
ADMIN_ROLE = "role:admin"

ACL = list[tuple[str, str, Any]]
_ADMINS: ACL = [(Allow, ADMIN_ROLE, ALL_PERMISSIONS)]

ENDPOINT_IN_PATH = Parameter("id", "path", {"type": "string"}, "The endpoint's id.")


def user_principal(user_id: str) -> str:
    return f"user:{user_id}"


def is_admin(request: Request) -> bool:
    identity = request.identity
    return identity is not None and ADMIN_ROLE in identity.principals


class WebhooksRoot:
    """``/api/v1/webhooks``: authenticated callers list and create; administrators all."""

    __acl__: ACL = [*_ADMINS, (Allow, Authenticated, (READ, CREATE))]

    def __init__(self, request: Request) -> None:
        self.request = request


class WebhookResource:
    """``/api/v1/webhooks/{id}`` and what is under it: the owner (READ, WRITE) and
    administrators (all); hidden from everyone else (404)."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.__acl__: ACL = list(_ADMINS)
        self.endpoint: Endpoint | None = None
        identity = request.identity  # a presented but invalid credential: 401 here
        if identity is None:
            return  # the ACL denies anonymous callers: 401, without a lookup
        endpoint_id = request.matchdict["id"]
        if len(endpoint_id) <= 36:
            self.endpoint = request.dbsession.get(Endpoint, endpoint_id)
        if self.endpoint is not None:
            self.__acl__.append((Allow, user_principal(self.endpoint.owner_id), (READ, WRITE)))
        if self.endpoint is None or not ACLHelper().permits(self, identity.principals, READ):
            raise HTTPNotFound()
