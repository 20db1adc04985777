"""Counts never leak: a caller sees counts only of records it may read.  ``record_count`` of a
collection is shown to those who may read every record, null to others; ``total`` of a record
list counts the matching records the caller may read."""

from __future__ import annotations

import pytest
from data_support import COLLECTIONS, record_url, records_url

NOTES = f"{COLLECTIONS}/notes"


@pytest.fixture
def filled(app, alice, bob, notes):
    """notes: three records of alice's (one readable by bob), bob may create; bob's one."""
    for rid in ("a1", "a2"):
        app.put_json(record_url("notes", rid), {"data": {"n": rid}}, headers=alice.headers)
    body = {"data": {"n": "a3"}, "permissions": {"read": [bob.principal]}}
    app.put_json(record_url("notes", "a3"), body, headers=alice.headers)
    app.patch_json(NOTES, {"permissions": {"create": [bob.principal]}}, headers=alice.headers)
    app.post_json(records_url("notes"), {"data": {"n": "b1"}}, headers=bob.headers, status=201)


def counts(app, headers):
    """``record_count`` of notes as listed and as read."""
    listed = {c["id"]: c for c in app.get(COLLECTIONS, headers=headers).json["data"]}
    return listed["notes"]["record_count"], app.get(NOTES, headers=headers).json["record_count"]


def total(app, headers, **params):
    return app.get(records_url("notes"), {"_count": "true", **params}, headers=headers).json


def test_a_create_only_caller_sees_no_collection_count(app, alice, bob, carol, admin, filled):
    assert counts(app, bob.headers) == (None, None)
    # Those who read every record see it: the owner, readers, administrators.
    assert counts(app, alice.headers) == (4, 4)
    app.patch_json(
        NOTES,
        {"permissions": {"create": [bob.principal], "read": ["group:staff"]}},
        headers=alice.headers,
    )
    assert counts(app, carol.headers) == (4, 4)
    assert counts(app, admin.headers) == (4, 4)
    assert counts(app, bob.headers) == (None, None)  # read: still his two records only


def test_anonymous_creators_see_no_count_and_readers_do(app, alice, filled):
    app.patch_json(NOTES, {"permissions": {"create": ["system.Everyone"]}}, headers=alice.headers)
    assert counts(app, {}) == (None, None)
    app.patch_json(NOTES, {"permissions": {"read": ["system.Everyone"]}}, headers=alice.headers)
    assert counts(app, {}) == (4, 4)


def test_list_totals_count_only_readable_records(app, alice, bob, filled):
    mine = total(app, bob.headers)
    assert sorted(r["data"]["n"] for r in mine["data"]) == ["a3", "b1"]
    assert mine["total"] == 2
    assert total(app, bob.headers, n="a1")["total"] == 0  # exists, but not for him
    assert total(app, bob.headers, _limit="1")["total"] == 2  # not the page: every match
    assert total(app, alice.headers)["total"] == 4
    # Deleting one of alice's he cannot read changes nothing he sees.
    app.delete(record_url("notes", "a1"), headers=alice.headers)
    assert total(app, bob.headers)["total"] == 2
    assert total(app, alice.headers)["total"] == 3
    assert counts(app, alice.headers) == (3, 3)
