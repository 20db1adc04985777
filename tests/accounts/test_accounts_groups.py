"""/api/v1/groups, /api/v1/groups/{id} and memberships."""

from __future__ import annotations

import uuid

import pytest
from accounts_support import add_user, problem_pointers

GROUPS = "/api/v1/groups"
ME = "/api/v1/auth/me"


@pytest.fixture
def staff(app, admin):
    return app.post_json(
        GROUPS, {"name": "Staff", "description": "Everyone on payroll"}, headers=admin.headers
    ).json


def members_url(group):
    return f"{GROUPS}/{group['id']}/members"


def test_admin_creates_lists_reads_renames_and_deletes_a_group(app, admin, staff):
    assert staff["name"] == "staff"
    assert staff["description"] == "Everyone on payroll"
    assert staff["member_count"] == 0
    url = f"{GROUPS}/{staff['id']}"
    assert app.get(url, headers=admin.headers).json == staff
    listed = app.get(GROUPS, headers=admin.headers).json
    assert [group["name"] for group in listed["data"]] == ["staff"]

    renamed = app.patch_json(url, {"name": "crew", "description": ""}, headers=admin.headers)
    assert renamed.json["name"] == "crew"
    assert renamed.json["description"] == ""
    app.delete(url, headers=admin.headers, status=204)
    app.get(url, headers=admin.headers, status=404)


def test_group_list_is_paginated_and_filtered(app, admin):
    for name in ("ops", "ops-eu", "ops-us", "sales"):
        app.post_json(GROUPS, {"name": name}, headers=admin.headers, status=201)
    page = app.get(GROUPS, {"name__startswith": "ops", "_limit": "2"}, headers=admin.headers).json
    assert [group["name"] for group in page["data"]] == ["ops", "ops-eu"]
    rest = app.get(page["next"], headers=admin.headers).json
    assert [group["name"] for group in rest["data"]] == ["ops-us"]
    assert rest["next"] is None


@pytest.mark.parametrize(
    ("body", "pointers"),
    [
        ({}, ["/name"]),
        ({"name": "x"}, ["/name"]),
        ({"name": "has space"}, ["/name"]),
        ({"name": 5}, ["/name"]),
        ({"name": "ok", "description": "d" * 1001}, ["/description"]),
        ({"name": "ok", "members": []}, ["/members"]),
    ],
)
def test_group_validation_problems_name_the_field(app, admin, body, pointers):
    response = app.post_json(GROUPS, body, headers=admin.headers, status=400)
    assert problem_pointers(response) == pointers


def test_duplicate_group_name_is_409(app, admin, staff):
    response = app.post_json(GROUPS, {"name": "STAFF"}, headers=admin.headers, status=409)
    assert problem_pointers(response) == ["/name"]
    other = app.post_json(GROUPS, {"name": "other"}, headers=admin.headers).json
    renamed = app.patch_json(
        f"{GROUPS}/{other['id']}", {"name": "staff"}, headers=admin.headers, status=409
    )
    assert problem_pointers(renamed) == ["/name"]


def test_non_admins_cannot_list_or_create_groups(app, alice):
    app.get(GROUPS, headers=alice.headers, status=403)
    app.post_json(GROUPS, {"name": "mine"}, headers=alice.headers, status=403)
    app.get(GROUPS, status=401)
    app.post_json(GROUPS, {"name": "mine"}, status=401)


def test_membership_lifecycle_and_who_may_read_the_group(app, admin, alice, bob, staff):
    group_url = f"{GROUPS}/{staff['id']}"
    # Not a member yet: the group is hidden, like a missing one.
    app.get(group_url, headers=alice.headers, status=404)
    app.get(f"{GROUPS}/{uuid.uuid4()}", headers=alice.headers, status=404)

    added = app.post_json(
        members_url(staff), {"username": "Alice"}, headers=admin.headers, status=201
    )
    assert added.json == {"id": alice.id, "username": "alice", "display_name": "Alice"}
    assert added.headers["Location"].endswith(f"/members/{alice.id}")
    again = app.post_json(members_url(staff), {"user_id": alice.id}, headers=admin.headers)
    assert again.status_code == 200

    # Alice's principals changed: the same token now reads the group and its members.
    assert app.get(group_url, headers=alice.headers).json["member_count"] == 1
    members = app.get(members_url(staff), headers=alice.headers).json["data"]
    assert [member["username"] for member in members] == ["alice"]
    app.get(f"{members_url(staff)}/{alice.id}", headers=alice.headers, status=200)
    assert app.get(ME, headers=alice.headers).json["groups"] == ["staff"]
    user = app.get(f"/api/v1/users/{alice.id}", headers=alice.headers).json
    assert user["groups"] == ["staff"]

    # Bob is no member: hidden. Members may read, not manage.
    app.get(group_url, headers=bob.headers, status=404)
    app.get(members_url(staff), headers=bob.headers, status=404)
    app.put(f"{members_url(staff)}/{bob.id}", headers=alice.headers, status=403)
    app.delete(f"{members_url(staff)}/{alice.id}", headers=alice.headers, status=403)
    app.patch_json(group_url, {"name": "mine"}, headers=alice.headers, status=403)
    app.delete(group_url, headers=alice.headers, status=403)

    put = app.put(f"{members_url(staff)}/{bob.id}", headers=admin.headers, status=201)
    assert put.json["username"] == "bob"
    app.put(f"{members_url(staff)}/{bob.id}", headers=admin.headers, status=200)
    app.get(group_url, headers=bob.headers, status=200)

    app.delete(f"{members_url(staff)}/{alice.id}", headers=admin.headers, status=204)
    app.delete(f"{members_url(staff)}/{alice.id}", headers=admin.headers, status=404)
    app.get(group_url, headers=alice.headers, status=404)
    app.get(f"{members_url(staff)}/{alice.id}", headers=bob.headers, status=404)
    assert app.get(ME, headers=alice.headers).json["groups"] == []


def test_renaming_a_group_keeps_its_members_access(app, admin, alice, staff):
    app.put(f"{members_url(staff)}/{alice.id}", headers=admin.headers, status=201)
    app.get(f"{GROUPS}/{staff['id']}", headers=alice.headers, status=200)
    app.patch_json(f"{GROUPS}/{staff['id']}", {"name": "crew"}, headers=admin.headers)
    # Her cached principals named "group:staff"; they were dropped on the rename.
    assert app.get(f"{GROUPS}/{staff['id']}", headers=alice.headers).json["name"] == "crew"
    assert app.get(ME, headers=alice.headers).json["groups"] == ["crew"]


def test_deleting_a_group_removes_it_from_its_members(app, admin, alice, staff):
    app.put(f"{members_url(staff)}/{alice.id}", headers=admin.headers, status=201)
    assert app.get(ME, headers=alice.headers).json["groups"] == ["staff"]
    app.delete(f"{GROUPS}/{staff['id']}", headers=admin.headers, status=204)
    assert app.get(ME, headers=alice.headers).json["groups"] == []
    # A new group of the same name is a different group: she is not in it.
    fresh = app.post_json(GROUPS, {"name": "staff"}, headers=admin.headers).json
    app.get(f"{GROUPS}/{fresh['id']}", headers=alice.headers, status=404)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, ""),
        ({"user_id": "x", "username": "y"}, ""),
        ({"username": 3}, "/username"),
        ({"username": "nobody"}, "/username"),
        ({"user_id": "00000000-0000-0000-0000-000000000000"}, "/user_id"),
        ({"user": "alice"}, "/user"),
    ],
)
def test_bad_membership_requests_are_400_naming_the_field(app, admin, staff, body, pointer):
    response = app.post_json(members_url(staff), body, headers=admin.headers, status=400)
    assert pointer in problem_pointers(response)


def test_unknown_user_in_a_membership_url_is_404(app, admin, staff):
    app.put(f"{members_url(staff)}/{uuid.uuid4()}", headers=admin.headers, status=404)
    app.delete(f"{members_url(staff)}/{uuid.uuid4()}", headers=admin.headers, status=404)


def test_members_are_paginated(app, admin, staff):
    for name in ("m1", "m2", "m3"):
        user_id = add_user(app, name)
        app.put(f"{members_url(staff)}/{user_id}", headers=admin.headers, status=201)
    page = app.get(members_url(staff), {"_limit": "2"}, headers=admin.headers).json
    assert [member["username"] for member in page["data"]] == ["m1", "m2"]
    rest = app.get(page["next"], headers=admin.headers).json
    assert [member["username"] for member in rest["data"]] == ["m3"]
    assert app.get(f"{GROUPS}/{staff['id']}", headers=admin.headers).json["member_count"] == 3


def test_deleting_a_user_removes_their_memberships(app, admin, alice, staff):
    app.put(f"{members_url(staff)}/{alice.id}", headers=admin.headers, status=201)
    app.delete(f"/api/v1/users/{alice.id}", headers=admin.headers, status=204)
    assert app.get(f"{GROUPS}/{staff['id']}", headers=admin.headers).json["member_count"] == 0
