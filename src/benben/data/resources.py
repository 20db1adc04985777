"""Context factories (with ``__acl__``) of the data API; who may do what: :mod:`.acl`.

Who sees what: a caller with no permission on a collection gets **404** for it, its records
and its history, exactly as for one that does not exist (existence would leak); one who may see
a collection but not a record gets 404 for the record.  Anonymous callers get 401 rather than
404 whenever they are not allowed (log in first), unless ``system.Everyone`` is granted.

Reads and record writes read the collection and the record without a lock, often from memory
(:mod:`.readcache`): a record write checks, as it writes, that neither changed since, or is
replayed (see :mod:`.storage`).  Writes to a collection itself lock its row before reading it:
what is authorized, and what preconditions are tested against, is what the write replaces.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyramid.authorization import Allow
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request

from benben.data.acl import (
    ACL,
    ALL_PERMISSIONS,
    FULL_READERS,
    acl_permits,
    caller_principals,
    collection_acl,
    creators_own,
    grantees,
    grants,
    reads_every_record,
    record_acl,
)
from benben.data.http import Conditions, etag_of, exists_hidden
from benben.data.models import Collection, Record
from benben.data.readcache import read_collection, read_record
from benben.data.records import load_record
from benben.data.snapshots import CollectionSnapshot, RecordSnapshot
from benben.data.storage import load_collection, replaying_after_conflict
from benben.data.validation import (
    COLLECTION_ID_RULE,
    RECORD_ID_RULE,
    collection_id_valid,
    invalid,
    param_error,
    record_id_valid,
)
from benben.security.permissions import CHANGE_PERMISSIONS, CREATE, READ, WRITE
from benben.security.principals import ADMIN_ROLE, EVERYONE, user_principal

__all__ = [
    "CollectionResource",
    "CollectionsRoot",
    "HistoryResource",
    "RecordResource",
    "RecordsResource",
]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CollectionsRoot:
    """``/api/v1/collections``: anyone lists (seeing only the collections they may see); the
    principals of ``benben.data.collection_creators`` (and administrators) create."""

    def __init__(self, request: Request) -> None:
        self.request = request
        creators = request.registry.settings["benben.data.collection_creators"]
        # A creator administers the new collection: it may set its permissions.
        self.__acl__: ACL = [
            (Allow, ADMIN_ROLE, ALL_PERMISSIONS),
            *((Allow, principal, (CREATE, CHANGE_PERMISSIONS)) for principal in creators),
            (Allow, EVERYONE, READ),
        ]


class _InCollection:
    """Loads the collection named in the URL (locked for a collection write); hides it (404)
    from an authenticated caller who may not see it."""

    writing_record = False
    __acl__: ACL
    # A snapshot (see .readcache) on reads and record writes; the locked row on others.
    collection: Collection | CollectionSnapshot | None

    def _load_collection(self, request: Request) -> None:
        self.request = request
        self.collection_id = request.matchdict["cid"]
        self.principals = caller_principals(request)  # a bad credential: 401 here
        self.writing = request.method not in _SAFE_METHODS
        self.collection = None
        if collection_id_valid(self.collection_id):
            if self.writing_record and not replaying_after_conflict(request):
                # Unlocked (often from memory): storage.bump checks it when it takes the lock.
                self.collection = read_collection(request, self.collection_id, writing=True)
            elif self.writing:
                self.collection = load_collection(request.dbsession, self.collection_id, lock=True)
            else:
                self.collection = read_collection(request, self.collection_id)
        self.__acl__ = [(Allow, ADMIN_ROLE, ALL_PERMISSIONS)]
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
        holders = grantees(self.collection, names) | {ADMIN_ROLE}
        return not holders.isdisjoint(self.principals)


class CollectionResource(_InCollection):
    """``/api/v1/collections/{cid}``.  PUT of a collection that does not exist creates it: the
    collection creators are then granted WRITE."""

    # PUT creates the collection; False for routes under a collection (a plugin's).
    creates_on_put = True

    def __init__(self, request: Request) -> None:
        self._load_collection(request)
        creating = request.method == "PUT" and self.creates_on_put
        if self.collection is None:
            if creating:
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
        if creating and not self.principals.isdisjoint(creators):
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
        self.writing_record = request.method == "POST"
        self._load_collection(request)
        self._hide_unless(self.collection is not None and self.permits(READ))
        if self.writing_record:
            # Whoever creates a record is its creator, who may set its permissions.
            self.__acl__ = creators_own(self.__acl__, CHANGE_PERMISSIONS)


class HistoryResource(_InCollection):
    """``/api/v1/collections/{cid}/history``: only those who may read every record (history
    holds their values); others who see the collection get 403."""

    def __init__(self, request: Request) -> None:
        self._load_collection(request)
        self._hide_unless(self.collection is not None and self.permits(READ))
        if self.collection is not None and not self.full_read:
            # READ stays for those who may: the collection-level ACL without create-only holders.
            readers = grantees(self.collection, FULL_READERS)
            self.__acl__ = [
                (Allow, ADMIN_ROLE, ALL_PERMISSIONS),
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
    # PUT creates the record; False for routes under a record (a plugin's), where every method
    # needs the record to exist.
    creates_on_put = True

    def __init__(self, request: Request) -> None:
        self.writing_record = request.method not in _SAFE_METHODS
        self._load_collection(request)
        self.record_id = request.matchdict["rid"]
        self.record = None  # the live record
        self.row: Record | RecordSnapshot | None = None  # the live record or its tombstone
        if self.collection is None:
            self._hide_unless(False)
            return
        creating = request.method == "PUT" and self.creates_on_put
        if not record_id_valid(self.record_id):
            if creating and self.permits(CREATE):
                raise invalid([param_error("rid", RECORD_ID_RULE, "path")])
            self._hide_unless(False)
            self.__acl__ = [(Allow, ADMIN_ROLE, ALL_PERMISSIONS)]
            return
        if isinstance(self.collection, Collection):  # locked: read the record as it is
            found: Record | RecordSnapshot | None = load_record(
                request.dbsession, self.collection.id, self.record_id
            )
        else:
            found = read_record(request, self.collection, self.record_id, writing=self.writing)
        self.row = found
        collection_acl_ = self.__acl__
        if found is None or found.deleted:
            self._missing(collection_acl_)
            return
        self.record = found
        self.__acl__ = record_acl(self.collection, found)
        if self.permits(READ):
            return
        if creating and acl_permits(collection_acl_, self.principals, CREATE):
            # The id is taken by a record the caller may not see; they may create records, so
            # whether an id is free is theirs to know (they cannot have it either way).
            if Conditions.from_request(request).create_only():
                raise exists_hidden()
            return  # no WRITE in the ACL: 403
        self._hide_unless(False)

    def _missing(self, collection_acl_: ACL) -> None:
        if self.request.method == "PUT" and self.creates_on_put:
            self.__acl__ = creators_own(
                [ace for ace in collection_acl_ if grants(ace, CREATE)], WRITE, CHANGE_PERMISSIONS
            )
            if self.request.identity is not None and not acl_permits(
                collection_acl_, self.principals, READ
            ):
                raise HTTPNotFound()
            return
        # Nothing to read or change: 404, unless an anonymous caller must log in first.
        self.__acl__ = [(Allow, ADMIN_ROLE, ALL_PERMISSIONS)]
        if self.request.identity is not None or acl_permits(collection_acl_, self.principals, READ):
            raise HTTPNotFound()

    @property
    def etag(self) -> str | None:
        return etag_of(self.record.last_modified) if self.record is not None else None
