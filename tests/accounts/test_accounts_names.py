"""Users and groups addressed by name as well as by id; names may not look like ids."""

from __future__ import annotations

import uuid

import pytest
from accounts_support import make_account, problem_pointers

GROUPS = "/api/v1/groups"
USERS = "/api/v1/users"


def test_groups_and_memberships_by_name(app, admin, alice, bob):
    staff = app.post_json(GROUPS, {"name": "staff"}, headers=admin.headers).json
    # The principal is written group:staff; the URL now takes the same name.
    added = app.post_json(
        f"{GROUPS}/staff/members", {"username": "alice"}, headers=admin.headers, status=201
    )
    assert added.json["id"] == alice.id
    assert added.headers["Location"].endswith(f"{GROUPS}/{staff['id']}/members/{alice.id}")
    assert app.get(f"{GROUPS}/Staff", headers=admin.headers).json == app.get(
        f"{GROUPS}/{staff['id']}", headers=admin.headers
    ).json | {"member_count": 1}
    assert app.get(f"{GROUPS}/staff/members/alice", headers=admin.headers).json["id"] == alice.id
    assert app.get(f"{GROUPS}/staff/members/{alice.id}", headers=admin.headers).status_int == 200

    put = app.put(f"{GROUPS}/staff/members/BOB", headers=admin.headers, status=201)
    assert put.headers["Location"].endswith(f"{GROUPS}/{staff['id']}/members/{bob.id}")
    app.put(f"{GROUPS}/staff/members/bob", headers=admin.headers, status=200)
    listed = app.get(f"{GROUPS}/staff/members", headers=admin.headers).json
    members = listed.get("data", listed.get("members"))  # whichever list envelope is current
    assert {member["id"] for member in members} == {alice.id, bob.id}
    app.delete(f"{GROUPS}/staff/members/bob", headers=admin.headers, status=204)
    app.get(f"{GROUPS}/staff/members/bob", headers=admin.headers, status=404)
    app.put(f"{GROUPS}/staff/members/nobody", headers=admin.headers, status=404)

    # Members read their group by name; a renamed group answers to its new name only.
    assert app.get(f"{GROUPS}/staff", headers=alice.headers).json["id"] == staff["id"]
    app.get(f"{GROUPS}/staff", headers=bob.headers, status=404)
    app.patch_json(f"{GROUPS}/staff", {"name": "crew"}, headers=admin.headers, status=200)
    app.get(f"{GROUPS}/staff", headers=admin.headers, status=404)
    assert app.get(f"{GROUPS}/crew", headers=alice.headers).json["name"] == "crew"
    app.delete(f"{GROUPS}/crew", headers=admin.headers, status=204)
    app.get(f"{GROUPS}/{staff['id']}", headers=admin.headers, status=404)


def test_users_by_username_hide_others_exactly_as_before(app, admin, alice, bob):
    assert app.get(f"{USERS}/alice", headers=alice.headers).json["id"] == alice.id
    assert app.get(f"{USERS}/ALICE", headers=admin.headers).json["id"] == alice.id
    changed = app.patch_json(
        f"{USERS}/alice", {"display_name": "Al"}, headers=alice.headers, status=200
    )
    assert changed.json["id"] == alice.id
    # Somebody else's account, by name or by id, is as absent as one that does not exist.
    hidden = [
        app.get(f"{USERS}/{segment}", headers=bob.headers, status=404).json
        for segment in ("alice", alice.id, "nobody", str(uuid.uuid4()))
    ]
    assert {(body["status"], body["detail"].split(" at ")[0]) for body in hidden} == {
        (404, "No resource")
    }
    app.patch_json(f"{USERS}/alice", {"display_name": "x"}, headers=bob.headers, status=404)
    app.get(f"{USERS}/alice", status=401)  # anonymous: no lookup at all
    app.delete(f"{USERS}/bob", headers=admin.headers, status=204)
    app.get(f"{USERS}/bob", headers=admin.headers, status=404)


@pytest.mark.parametrize(
    # Fixed values: xdist workers must collect the same test ids.
    "shaped",
    [
        "c27d43a8-7d24-4950-bd31-b41968960356",
        "8515B90C-BB8C-4668-A71A-1D59B09519FF",
        "00000000-0000-0000-0000-000000000000",
    ],
)
def test_names_shaped_like_ids_are_refused(app, admin, shaped):
    refused = app.post_json(
        USERS, {"username": shaped, "password": "a long enough passphrase"},
        headers=admin.headers, status=400,
    )  # fmt: skip
    assert problem_pointers(refused) == ["/username"]
    assert "UUID" in refused.json["errors"][0]["message"]
    assert problem_pointers(
        app.post_json(GROUPS, {"name": shaped}, headers=admin.headers, status=400)
    ) == ["/name"]
    group = app.post_json(GROUPS, {"name": "ops"}, headers=admin.headers).json
    assert problem_pointers(
        app.patch_json(f"{GROUPS}/ops", {"name": shaped}, headers=admin.headers, status=400)
    ) == ["/name"]
    assert problem_pointers(
        app.patch_json(f"{USERS}/root", {"username": shaped}, headers=admin.headers, status=400)
    ) == ["/username"]
    # Near misses are names: 32 hex digits without hyphens, or a UUID with a suffix.
    for name in (uuid.uuid4().hex, f"{uuid.uuid4()}x"):
        make_account(app, name)
        assert app.get(f"{USERS}/{name}", headers=admin.headers).json["username"] == name
    assert app.get(f"{GROUPS}/{group['id'].upper()}", headers=admin.headers).json == group
