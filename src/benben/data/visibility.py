"""What a user may read *now*, asked outside of a request: for work done on their behalf later
(a webhook delivering an event about a collection or a record to its owner).

The answer uses the user's current principals (active? administrator? which groups?), read
from the database as the identity reads them (:mod:`benben.security.principals`), against the
collection's and the record's ACLs as the API builds them (:mod:`benben.data.acl`): the same
rules as ``GET``, never a copy of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from sqlalchemy.orm import Session

from benben.data.acl import acl_permits, collection_acl, record_acl
from benben.data.models import Collection
from benben.data.records import load_record
from benben.data.snapshots import CollectionSnapshot
from benben.security.permissions import READ
from benben.security.principals import ADMIN_ROLE, load_principal_facts, principals_for

__all__ = ["user_may_read", "user_principals"]

T = TypeVar("T")


_MEMO_KEY = "benben.data.visibility"  # on the session's info: (transaction, answers)


def _memo(session: Session, key: tuple[str, str], load: Callable[[], T]) -> T:
    """``load()``, remembered for the rest of the session's transaction: a caller checking a
    batch (a worker claiming deliveries) reads each user and collection once."""
    transaction = session.get_transaction()
    if transaction is None:
        return load()
    memo = session.info.get(_MEMO_KEY)
    if memo is None or memo[0] is not transaction:
        memo = session.info[_MEMO_KEY] = (transaction, {})
    answers: dict[tuple[str, str], Any] = memo[1]
    if key not in answers:
        answers[key] = load()
    return cast(T, answers[key])


def user_principals(session: Session, user_id: str) -> frozenset[str] | None:
    """The principals ``user_id`` would hold on a request now; None for a user who does not
    exist or is deactivated (who may read nothing)."""

    def load() -> frozenset[str] | None:
        facts = load_principal_facts(session, user_id)
        if facts is None or not facts["is_active"]:
            return None
        return principals_for(user_id, facts)

    return _memo(session, ("user", user_id), load)


def user_may_read(
    session: Session,
    user_id: str,
    collection_id: str,
    record_id: str | None = None,
    *,
    former: Mapping[str, Any] | None = None,
) -> bool:
    """Whether ``user_id`` may read, now, the collection ``collection_id`` (``record_id``: that
    record of it) as ``GET`` would allow.

    A deleted record's tombstone keeps its grants: whoever may read it may learn that it was
    deleted.  A collection that no longer exists is judged by ``former``, its fields as last
    recorded (the ``previous`` of a ``collection.deleted`` event: ``permissions``,
    ``created_by``); without it, nobody may read it.  A deactivated or deleted user may read
    nothing.  Users and collections are read once per transaction of ``session`` (a batch of
    checks shares them).
    """
    principals = user_principals(session, user_id)
    if principals is None:
        return False
    collection = _collection(session, collection_id, former)
    if collection is None:
        return False
    if ADMIN_ROLE in principals:
        return True
    if record_id is None:
        return acl_permits(collection_acl(collection), principals, READ)
    record = load_record(session, collection_id, record_id)
    if record is None:
        return False
    return acl_permits(record_acl(collection, record), principals, READ)


def _collection(
    session: Session, collection_id: str, former: Mapping[str, Any] | None
) -> Collection | CollectionSnapshot | None:
    # populate_existing: the row as the database holds it now, not as this session read it.
    row = _memo(
        session,
        ("collection", collection_id),
        lambda: session.get(Collection, collection_id, populate_existing=True),
    )
    if row is not None:
        return row
    if former is None:
        return None
    return CollectionSnapshot(
        id=collection_id,
        title="",
        description="",
        schema=None,
        indexed_fields=[],
        searchable_fields=[],
        search_language="simple",
        permissions=dict(former.get("permissions") or {}),
        created_by=former.get("created_by"),
        created_at=None,
        updated_at=None,
        last_modified=0,
        record_count=0,
    )
