"""Context factories (with ``__acl__``) of the data API.

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

Write requests lock the collection's row before anything is read (see :mod:`.storage`): what
is authorized, and what preconditions are tested against, is what the write replaces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pyramid.authorization import ACLHelper, Allow
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request

from benben.data.http import Conditions, etag_of, exists_hidden
from benben.data.models import Collection, Record
from benben.data.readcache import CollectionSnapshot, RecordSnapshot, read_collection, read_record
from benben.data.records import load_record
from benben.data.storage import load_collection
from benben.data.validation import (
    COLLECTION_ID_RULE,
    RECORD_ID_RULE,
    body_error,
    collection_id_valid,
    invalid,
    param_error,
    record_id_valid,
)
from benben.errors import ProblemError
from benben.security.permissions import ADMIN, CHANGE_PERMISSIONS, CREATE, READ, WRITE
from benben.security.principals import ADMIN_ROLE, EVERYONE, user_principal

__all__ = [
    "CollectionResource",
    "CollectionsRoot",
    "HistoryResource",
    "RecordResource",
    "RecordsResource",
    "acl_permits",
    "caller_principals",
    "check_permissions_change",
    "collection_acl",
    "reads_every_record",
]

ACL = list[tuple[str, str, Any]]
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ALL = (READ, WRITE, CREATE, ADMIN, CHANGE_PERMISSIONS)
# What each collection permission allows on the collection's contexts.
_COLLECTION_GRANTS = {
    "admin": _ALL,
    "write": (READ, WRITE, CREATE),
    "create": (READ, CREATE),
    "read": (READ,),
}
_FULL_READERS = ("admin", "write", "read")  # may read every record


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


def _grantees(collection: Collection, names: Iterable[str]) -> set[str]:
    """Principals holding any of the collection permissions ``names`` (its creator: all)."""
    permissions: Mapping[str, list[str]] = collection.permissions or {}
    found = {principal for name in names for principal in permissions.get(name, ())}
    if collection.created_by:
        found.add(user_principal(collection.created_by))
    return found


def reads_every_record(
    collection: Collection | CollectionSnapshot, principals: Iterable[str]
) -> bool:
    """Whether ``principals`` may read every record of ``collection`` (and so see its count)."""
    holders = _grantees(collection, _FULL_READERS) | {ADMIN_ROLE}
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


def collection_acl(collection: Collection) -> ACL:
    acl: ACL = [(Allow, ADMIN_ROLE, _ALL)]
    if collection.created_by:
        acl.append((Allow, user_principal(collection.created_by), _ALL))
    permissions: Mapping[str, list[str]] = collection.permissions or {}
    for name, allowed in _COLLECTION_GRANTS.items():
        acl.extend((Allow, principal, allowed) for principal in permissions.get(name, ()))
    return acl


class CollectionsRoot:
    """``/api/v1/collections``: anyone lists (seeing only the collections they may see); the
    principals of ``benben.data.collection_creators`` (and administrators) create."""

    def __init__(self, request: Request) -> None:
        self.request = request
        creators = request.registry.settings["benben.data.collection_creators"]
        # A creator administers the new collection: it may set its permissions.
        self.__acl__: ACL = [
            (Allow, ADMIN_ROLE, _ALL),
            *((Allow, principal, (CREATE, CHANGE_PERMISSIONS)) for principal in creators),
            (Allow, EVERYONE, READ),
        ]


class _InCollection:
    """Loads the collection named in the URL (locked for writes); hides it (404) from an
    authenticated caller who may not see it."""

    creating_record = False
    __acl__: ACL
    # A snapshot (see .readcache) on reads; the locked row on writes.
    collection: Collection | CollectionSnapshot | None

    def _load_collection(self, request: Request) -> None:
        self.request = request
        self.collection_id = request.matchdict["cid"]
        self.principals = caller_principals(request)  # a bad credential: 401 here
        self.writing = request.method not in _SAFE_METHODS
        self.collection = None
        if collection_id_valid(self.collection_id):
            if self.creating_record:
                # Unlocked (often from memory): storage.bump checks it when it takes the lock.
                self.collection = read_collection(request, self.collection_id, creating=True)
            elif self.writing:
                self.collection = load_collection(request.dbsession, self.collection_id, lock=True)
            else:
                self.collection = read_collection(request, self.collection_id)
        self.__acl__ = [(Allow, ADMIN_ROLE, _ALL)]
        if self.collection is not None:
            self.__acl__ = collection_acl(self.collection)

    def permits(self, permission: str) -> bool:
        return acl_permits(self.__acl__, self.principals, permission)

    def _hide_unless(self, visible: bool) -> None:
        """404 for an authenticated caller; an anonymous one is refused by the ACL (401)."""
        if not visible and self.request.identity is not None:
            raise HTTPNotFound()

    @property
    def full_read(self) -> bool:
        """Whether the caller may read every record of the collection."""
        return self.collection is not None and reads_every_record(self.collection, self.principals)

    def may_write(self, record: Record) -> bool:
        """Whether the caller may write ``record`` (lists show such records' permissions)."""
        if self._holds(("admin", "write")):
            return True
        if not self.principals.isdisjoint((record.permissions or {}).get("write", ())):
            return True
        return record.created_by is not None and (
            user_principal(record.created_by) in self.principals
        )

    def _holds(self, names: Iterable[str]) -> bool:
        if self.collection is None:
            return False
        holders = _grantees(self.collection, names) | {ADMIN_ROLE}
        return not holders.isdisjoint(self.principals)


class CollectionResource(_InCollection):
    """``/api/v1/collections/{cid}``.  PUT of a collection that does not exist creates it: the
    collection creators are then granted WRITE."""

    def __init__(self, request: Request) -> None:
        self._load_collection(request)
        if self.collection is None:
            if request.method == "PUT":
                if not collection_id_valid(self.collection_id):
                    raise invalid([param_error("cid", COLLECTION_ID_RULE, "path")])
                creators = request.registry.settings["benben.data.collection_creators"]
                # Its creator-to-be administers it: it may set its permissions.
                self.__acl__.extend(
                    (Allow, principal, (WRITE, CHANGE_PERMISSIONS)) for principal in creators
                )
                return
            self._hide_unless(False)
            return
        if self.permits(READ):
            return
        creators = request.registry.settings["benben.data.collection_creators"]
        if request.method == "PUT" and not self.principals.isdisjoint(creators):
            # Ids are global: one who may create collections learns that this one is taken
            # (POST says so too), not what it holds.
            if Conditions.from_request(request).create_only():
                raise exists_hidden()
            return  # no WRITE in the ACL: 403
        self._hide_unless(False)

    @property
    def etag(self) -> str | None:
        return etag_of(self.collection.last_modified) if self.collection is not None else None


class RecordsResource(_InCollection):
    """``/api/v1/collections/{cid}/records``: those who see the collection list (and see the
    records they may read); ``create``, ``write`` and ``admin`` holders create."""

    def __init__(self, request: Request) -> None:
        self.creating_record = request.method == "POST"
        self._load_collection(request)
        self._hide_unless(self.collection is not None and self.permits(READ))
        if self.creating_record:
            # Whoever creates a record is its creator, who may set its permissions.
            self.__acl__ = _creators_own(self.__acl__, CHANGE_PERMISSIONS)


class HistoryResource(_InCollection):
    """``/api/v1/collections/{cid}/history``: only those who may read every record (history
    holds their values); others who see the collection get 403."""

    def __init__(self, request: Request) -> None:
        self._load_collection(request)
        self._hide_unless(self.collection is not None and self.permits(READ))
        if self.collection is not None and not self.full_read:
            # READ stays for those who may: the collection-level ACL without create-only holders.
            readers = _grantees(self.collection, _FULL_READERS)
            self.__acl__ = [
                (Allow, ADMIN_ROLE, _ALL),
                *((Allow, principal, READ) for principal in readers),
            ]


class RecordResource(_InCollection):
    """``/api/v1/collections/{cid}/records/{rid}``.

    READ: full readers of the collection, the record's ``read``/``write`` grantees, its creator.
    WRITE: the collection's ``write``/``admin`` holders, the record's ``write`` grantees, its
    creator.  CHANGE_PERMISSIONS: the collection's ``admin`` holders, the record's creator.  A PUT
    of a record that does not exist (or was deleted) creates it: those who may create records in
    the collection are then granted WRITE and CHANGE_PERMISSIONS (they become its creator).
    """

    record: Record | RecordSnapshot | None

    def __init__(self, request: Request) -> None:
        self._load_collection(request)
        self.record_id = request.matchdict["rid"]
        self.record = None  # the live record
        self.row: Record | RecordSnapshot | None = None  # the live record or its tombstone
        if self.collection is None:
            self._hide_unless(False)
            return
        if not record_id_valid(self.record_id):
            if request.method == "PUT" and self.permits(CREATE):
                raise invalid([param_error("rid", RECORD_ID_RULE, "path")])
            self._hide_unless(False)
            self.__acl__ = [(Allow, ADMIN_ROLE, _ALL)]
            return
        if self.writing:
            found = load_record(request.dbsession, self.collection.id, self.record_id)
        else:
            found = read_record(request, self.collection, self.record_id)
        self.row = found
        collection_acl_ = self.__acl__
        if found is None or found.deleted:
            self._missing(collection_acl_)
            return
        self.record = found
        self.__acl__ = self._record_acl(found)
        if self.permits(READ):
            return
        if request.method == "PUT" and acl_permits(collection_acl_, self.principals, CREATE):
            # The id is taken by a record the caller may not see; they may create records, so
            # whether an id is free is theirs to know (they cannot have it either way).
            if Conditions.from_request(request).create_only():
                raise exists_hidden()
            return  # no WRITE in the ACL: 403
        self._hide_unless(False)

    def _missing(self, collection_acl_: ACL) -> None:
        if self.request.method == "PUT":
            self.__acl__ = _creators_own(
                [ace for ace in collection_acl_ if _grants(ace, CREATE)], WRITE, CHANGE_PERMISSIONS
            )
            if self.request.identity is not None and not acl_permits(
                collection_acl_, self.principals, READ
            ):
                raise HTTPNotFound()
            return
        # Nothing to read or change: 404, unless an anonymous caller must log in first.
        self.__acl__ = [(Allow, ADMIN_ROLE, _ALL)]
        if self.request.identity is not None or acl_permits(collection_acl_, self.principals, READ):
            raise HTTPNotFound()

    def _record_acl(self, record: Record) -> ACL:
        assert self.collection is not None
        acl: ACL = [(Allow, ADMIN_ROLE, _ALL)]
        owners = _grantees(self.collection, ("admin",))  # the collection's creator included
        writers = _grantees(self.collection, ("admin", "write"))
        readers = _grantees(self.collection, _FULL_READERS)
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

    @property
    def etag(self) -> str | None:
        return etag_of(self.record.last_modified) if self.record is not None else None


def _creators_own(acl: ACL, *permissions: str) -> ACL:
    """``acl`` plus ``permissions`` for each principal it allows CREATE: what those who create
    hold on what they create."""
    creators = [ace[1] for ace in acl if _grants(ace, CREATE)]
    return [*acl, *((Allow, principal, permissions) for principal in creators)]


def _grants(ace: tuple[str, str, Any], permission: str) -> bool:
    allowed = ace[2]
    return allowed == permission or (not isinstance(allowed, str) and permission in allowed)
