"""user_may_read: what a user may read now, outside of a request, by the API's own rules."""

from __future__ import annotations

from typing import Any

import pytest
from data_support import COLLECTIONS, User, make_user, record_url
from sqlalchemy.orm import Session

from benben.db import get_engine
from benben.plugin import user_may_read


def may_read(app: Any, user: User, cid: str, rid: str | None = None, **kwargs: Any) -> bool:
    with Session(get_engine(app.app.registry)) as session:
        return user_may_read(session, user.id, cid, rid, **kwargs)


@pytest.fixture
def dave(app: Any) -> User:
    return make_user(app, "dave")


def test_collection_readers_are_those_get_lets_in(app, admin, alice, bob, carol, shelf):
    assert may_read(app, alice, shelf)  # its creator
    assert may_read(app, admin, shelf)  # an administrator
    assert not may_read(app, bob, shelf)
    assert not may_read(app, carol, shelf)
    app.patch_json(
        f"{COLLECTIONS}/shelf", {"permissions": {"create": ["group:staff"]}}, headers=alice.headers
    )
    assert may_read(app, carol, shelf)  # create holders see the collection
    assert not may_read(app, carol, shelf, "b1")  # ... not others' records
    assert not may_read(app, bob, shelf)
    app.get(f"{COLLECTIONS}/shelf", headers=carol.headers, status=200)
    app.get(record_url("shelf", "b1"), headers=carol.headers, status=404)


def test_record_grants_and_creators(app, alice, bob, carol, shelf):
    app.patch_json(
        f"{COLLECTIONS}/shelf",
        {"permissions": {"create": ["system.Authenticated"]}},
        headers=alice.headers,
    )
    app.put_json(record_url("shelf", "mine"), {"data": {}}, headers=bob.headers, status=201)
    assert may_read(app, bob, shelf, "mine")  # its creator
    assert not may_read(app, bob, shelf, "b1")
    assert may_read(app, alice, shelf, "mine")  # the collection's owner
    app.patch_json(
        record_url("shelf", "b1"), {"permissions": {"read": ["group:staff"]}}, headers=alice.headers
    )
    assert may_read(app, carol, shelf, "b1")
    assert not may_read(app, alice, shelf, "nothing-here")


def test_current_principals_count_not_past_ones(app, admin, carol, dave, shelf, alice):
    app.patch_json(
        f"{COLLECTIONS}/shelf", {"permissions": {"read": ["group:staff"]}}, headers=alice.headers
    )
    assert may_read(app, carol, shelf, "b1")
    assert not may_read(app, dave, shelf, "b1")
    groups = app.get("/api/v1/groups", headers=admin.headers).json["data"]
    staff = next(group for group in groups if group["name"] == "staff")
    app.put(f"/api/v1/groups/{staff['id']}/members/{dave.id}", headers=admin.headers)
    assert may_read(app, dave, shelf, "b1")  # joined: may read at once
    app.delete(f"/api/v1/groups/{staff['id']}/members/{carol.id}", headers=admin.headers)
    assert not may_read(app, carol, shelf, "b1")  # left: may not any more
    app.patch_json(f"/api/v1/users/{dave.id}", {"is_active": False}, headers=admin.headers)
    assert not may_read(app, dave, shelf, "b1")  # deactivated: nothing


def test_deleted_records_collections_and_users(app, admin, alice, bob, shelf):
    app.delete(record_url("shelf", "b1"), headers=alice.headers)
    assert may_read(app, alice, shelf, "b1")  # the tombstone keeps its grants
    assert not may_read(app, bob, shelf, "b1")
    assert not may_read(app, alice, "nowhere")
    app.delete(f"{COLLECTIONS}/shelf", headers=alice.headers)
    assert not may_read(app, alice, shelf)
    assert not may_read(app, admin, shelf)
    # A deleted collection, judged by its last recorded grants.
    former = {"permissions": {"read": [bob.principal]}, "created_by": alice.id}
    assert may_read(app, bob, shelf, former=former)
    assert may_read(app, alice, shelf, former=former)
    assert not may_read(app, bob, shelf, former={"permissions": {}})
    app.delete(f"/api/v1/users/{bob.id}", headers=admin.headers)
    assert not may_read(app, bob, shelf, former=former)
    assert not user_may_read_unknown(app)


def user_may_read_unknown(app: Any) -> bool:
    with Session(get_engine(app.app.registry)) as session:
        return user_may_read(session, "00000000-0000-4000-8000-000000000000", "shelf")
