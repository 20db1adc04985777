"""Who may do what in the data API: collections' and records' ACLs (the context factories of
:mod:`.resources` hold them).

Permissions a collection grants (``permissions`` member), and what they allow:

============  =========================================================================
``read``      see the collection, read every record, read the history
``create``    see the collection, create records (and then write those: their creator)
``write``     the above, write every record, change the collection (not its permissions)
``admin``     the above, change the collection's permissions, delete the collection
============  =========================================================================

The creator of a collection administers it; administrators (``role:admin``) may do anything.
A record grants ``read`` and ``write`` to more principals; its creator may write it.

Changing permissions is its own permission, CHANGE_PERMISSIONS, never implied by ``write``:
a collection's needs its ``admin``; a record's needs the collection's ``admin`` or being the
record's creator.  One who creates a collection or a record (POST, or PUT of a new id) becomes
its creator, so the contexts of creations grant it to those who may create.  Only the ``admin``
API-token scope allows it (see :mod:`benben.security.permissions`); views call
:func:`check_permissions_change` once they know what a body would change.

Who sees what: a caller with no permission on a collection gets **404** for it, its records
and its history, exactly as for one that does not exist (existence would leak); one who may see
a collection but not a record gets 404 for the record.  Anonymous callers get 401 rather than
404 whenever they are not allowed (log in first), unless ``system.Everyone`` is granted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pyramid.authorization import ACLHelper, Allow
from pyramid.request import Request

from benben.data.models import Collection, Record
from benben.data.snapshots import CollectionSnapshot, RecordSnapshot
from benben.data.validation import body_error
from benben.errors import ProblemError
from benben.security.permissions import ADMIN, CHANGE_PERMISSIONS, CREATE, READ, WRITE
from benben.security.principals import ADMIN_ROLE, EVERYONE, user_principal

__all__ = [
    "ACL",
    "ALL_PERMISSIONS",
    "FULL_READERS",
    "acl_permits",
    "caller_principals",
    "check_permissions_change",
    "collection_acl",
    "creators_own",
    "grantees",
    "grants",
    "reads_every_record",
    "record_acl",
]

ACL = list[tuple[str, str, Any]]
AnyCollection = Collection | CollectionSnapshot
ALL_PERMISSIONS = (READ, WRITE, CREATE, ADMIN, CHANGE_PERMISSIONS)
# What each collection permission allows on the collection's contexts.
_COLLECTION_GRANTS = {
    "admin": ALL_PERMISSIONS,
    "write": (READ, WRITE, CREATE),
    "create": (READ, CREATE),
    "read": (READ,),
}
FULL_READERS = ("admin", "write", "read")  # may read every record


def caller_principals(request: Request) -> frozenset[str]:
    identity = request.identity
    return identity.principals if identity is not None else frozenset({EVERYONE})


class _AclHolder:
    __slots__ = ("__acl__", "__parent__")

    def __init__(self, acl: ACL) -> None:
        self.__acl__ = acl
        self.__parent__ = None


_ACL_HELPER = ACLHelper()  # stateless


def acl_permits(acl: ACL, principals: Iterable[str], permission: str) -> bool:
    return bool(_ACL_HELPER.permits(_AclHolder(acl), principals, permission))


def grantees(collection: AnyCollection, names: Iterable[str]) -> set[str]:
    """Principals holding any of the collection permissions ``names`` (its creator: all)."""
    permissions: Mapping[str, list[str]] = collection.permissions or {}
    found = {principal for name in names for principal in permissions.get(name, ())}
    if collection.created_by:
        found.add(user_principal(collection.created_by))
    return found


def reads_every_record(collection: AnyCollection, principals: Iterable[str]) -> bool:
    """Whether ``principals`` may read every record of ``collection`` (and so see its count)."""
    holders = grantees(collection, FULL_READERS) | {ADMIN_ROLE}
    return not holders.isdisjoint(principals)


def _grant_pairs(permissions: Mapping[str, Iterable[str]] | None) -> set[tuple[str, str]]:
    return {(name, who) for name, principals in (permissions or {}).items() for who in principals}


_NEEDED = {
    "collection": "its admin permission",
    "record": "the collection's admin permission, or being the record's creator",
}


def check_permissions_change(
    request: Request,
    context: Any,
    kind: str,
    before: Mapping[str, Iterable[str]] | None,
    after: Mapping[str, Iterable[str]] | None,
) -> None:
    """403 (pointer ``/permissions``) when the caller may not turn the ``kind`` ("record" or
    "collection") permissions ``before`` into ``after`` (None: left unchanged).  Called before
    anything is written, so a refused request stores nothing.  Only the grants count: the same
    grants written differently are no change."""
    if after is None or _grant_pairs(before) == _grant_pairs(after):
        return
    if request.has_permission(CHANGE_PERMISSIONS, context):
        return
    if acl_permits(context.__acl__, caller_principals(request), CHANGE_PERMISSIONS):
        # The owner may; the credential, an API token, may not.
        scopes = ", ".join(sorted(request.identity.scopes or ())) or "none"
        needed = "the admin scope"
        detail = (
            f"This API token's scopes ({scopes}) do not allow changing permissions: that needs "
            f"{needed} (or a login session)."
        )
    else:
        needed = _NEEDED[kind]
        detail = f"Changing a {kind}'s permissions needs {needed}."
    raise ProblemError(
        403,
        detail=f"{detail} Nothing was stored.",
        errors=[body_error("/permissions", f"changing them needs {needed}")],
    )


def collection_acl(collection: AnyCollection) -> ACL:
    acl: ACL = [(Allow, ADMIN_ROLE, ALL_PERMISSIONS)]
    if collection.created_by:
        acl.append((Allow, user_principal(collection.created_by), ALL_PERMISSIONS))
    permissions: Mapping[str, list[str]] = collection.permissions or {}
    for name, allowed in _COLLECTION_GRANTS.items():
        acl.extend((Allow, principal, allowed) for principal in permissions.get(name, ()))
    return acl


def record_acl(collection: AnyCollection, record: Record | RecordSnapshot) -> ACL:
    """A record's ACL: the collection's holders, the record's grantees and its creator."""
    acl: ACL = [(Allow, ADMIN_ROLE, ALL_PERMISSIONS)]
    owners = grantees(collection, ("admin",))  # the collection's creator included
    writers = grantees(collection, ("admin", "write"))
    readers = grantees(collection, FULL_READERS)
    permissions: Mapping[str, list[str]] = record.permissions or {}
    writers.update(permissions.get("write", ()))
    readers.update(permissions.get("read", ()))
    if record.created_by:
        owners.add(user_principal(record.created_by))
    writers -= owners
    owned = (READ, WRITE, CHANGE_PERMISSIONS)
    acl.extend((Allow, principal, owned) for principal in sorted(owners))
    acl.extend((Allow, principal, (READ, WRITE)) for principal in sorted(writers))
    acl.extend((Allow, principal, READ) for principal in sorted(readers - writers - owners))
    return acl


def creators_own(acl: ACL, *permissions: str) -> ACL:
    """``acl`` plus ``permissions`` for each principal it allows CREATE: what those who create
    hold on what they create."""
    creators = [ace[1] for ace in acl if grants(ace, CREATE)]
    return [*acl, *((Allow, principal, permissions) for principal in creators)]


def grants(ace: tuple[str, str, Any], permission: str) -> bool:
    allowed = ace[2]
    return allowed == permission or (not isinstance(allowed, str) and permission in allowed)
