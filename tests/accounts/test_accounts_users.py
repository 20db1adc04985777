"""/api/v1/users and /api/v1/users/{id}: CRUD, who may do what, validation, conflicts."""

from __future__ import annotations

import uuid

import pytest
from accounts_support import PASSWORD, add_user, bearer, login, problem_pointers

USERS = "/api/v1/users"


def test_admin_creates_a_user_who_can_then_log_in(app, admin):
    response = app.post_json(
        USERS,
        {
            "username": "Carol",
            "password": PASSWORD,
            "email": " Carol@Example.ORG ",
            "display_name": "  Carol C.  ",
        },
        headers=admin.headers,
        status=201,
    )
    user = response.json
    assert response.headers["Location"].endswith(f"{USERS}/{user['id']}")
    assert user["username"] == "carol"
    assert user["email"] == "carol@example.org"
    assert user["display_name"] == "Carol C."
    assert user["is_active"] is True
    assert user["roles"] == []
    assert user["groups"] == []
    assert "password" not in response.text
    assert "argon2" not in response.text
    assert app.get(response.headers["Location"], headers=admin.headers).json == user
    assert login(app, "CAROL").json["token_type"] == "Bearer"


def test_admin_creates_another_admin(app, admin):
    created = app.post_json(
        USERS,
        {"username": "deputy", "password": PASSWORD, "is_admin": True},
        headers=admin.headers,
        status=201,
    ).json
    assert created["roles"] == ["admin"]
    deputy = bearer(login(app, "deputy").json["access_token"])
    assert app.get(USERS, headers=deputy, status=200)


def test_inactive_user_can_be_created_and_cannot_log_in(app, admin):
    app.post_json(
        USERS,
        {"username": "dormant", "password": PASSWORD, "is_active": False},
        headers=admin.headers,
        status=201,
    )
    login(app, "dormant", status=401)


def test_listing_users_is_for_admins_only(app, admin, alice):
    listed = app.get(USERS, headers=admin.headers).json
    assert [user["username"] for user in listed["data"]] == ["alice", "root"]
    assert listed["next"] is None

    refused = app.get(USERS, headers=alice.headers, status=403)
    assert refused.content_type == "application/problem+json"
    anonymous = app.get(USERS, status=401)
    assert anonymous.content_type == "application/problem+json"
    assert "Bearer" in anonymous.headers["WWW-Authenticate"]
    app.get(USERS, headers=bearer("not-a-token"), status=401)


def test_list_is_paginated_and_filtered_by_username_prefix(app, admin):
    for name in ("ann", "anna", "annabel", "anne", "bert"):
        add_user(app, name)
    page = app.get(USERS, {"_limit": "2", "username__startswith": "AN"}, headers=admin.headers)
    assert [u["username"] for u in page.json["data"]] == ["ann", "anna"]
    assert page.headers["Link"] == f'<{page.json["next"]}>; rel="next"'
    second = app.get(page.json["next"], headers=admin.headers)
    assert [u["username"] for u in second.json["data"]] == ["annabel", "anne"]
    assert second.json["next"] is None
    assert "Link" not in second.headers
    everyone = app.get(USERS, {"_limit": "1000"}, headers=admin.headers).json
    assert len(everyone["data"]) == 6
    assert everyone["next"] is None


def test_prefix_wildcards_are_literal_characters(app, admin):
    add_user(app, "an_x")
    add_user(app, "anxx")
    found = app.get(USERS, {"username__startswith": "an_"}, headers=admin.headers).json
    assert [u["username"] for u in found["data"]] == ["an_x"]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ({"_limit": "0"}, "_limit"),
        ({"_limit": "1001"}, "_limit"),
        ({"_limit": "ten"}, "_limit"),
        ({"_limit": "-1"}, "_limit"),
        ({"_cursor": "x" * 65}, "_cursor"),
        ({"username__startswith": "x" * 65}, "username__startswith"),
        ({"_sort": "email"}, "_sort"),
        ({"limit": "10"}, "limit"),
        ({"qq": "a"}, "qq"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_parameter(app, admin, query, name):
    response = app.get(USERS, query, headers=admin.headers, status=400)
    assert response.content_type == "application/problem+json"
    errors = response.json["errors"]
    assert [(e["location"], e["name"]) for e in errors] == [("querystring", name)]


def test_a_user_reads_themself_but_another_user_is_a_404_like_a_missing_one(app, alice, bob):
    own = app.get(f"{USERS}/{alice.id}", headers=alice.headers).json
    assert own["username"] == "alice"
    assert own["email"] == "alice@example.org"

    hidden = app.get(f"{USERS}/{bob.id}", headers=alice.headers, status=404)
    missing = app.get(f"{USERS}/{uuid.uuid4()}", headers=alice.headers, status=404)
    for response in (hidden, missing):
        assert response.content_type == "application/problem+json"
    assert hidden.json["title"] == missing.json["title"]
    assert hidden.json["detail"].replace(bob.id, "ID") == missing.json["detail"].replace(
        missing.json["instance"].rsplit("/", 1)[1], "ID"
    )
    assert "bob" not in hidden.text


def test_anonymous_callers_get_401_for_any_user_url(app, alice):
    for url in (f"{USERS}/{alice.id}", f"{USERS}/{uuid.uuid4()}"):
        response = app.get(url, status=401)
        assert response.content_type == "application/problem+json"
    app.patch_json(f"{USERS}/{alice.id}", {"display_name": "x"}, status=401)
    app.delete(f"{USERS}/{alice.id}", status=401)


def test_writes_to_another_users_account_are_404_and_change_nothing(app, admin, alice, bob):
    app.patch_json(
        f"{USERS}/{bob.id}", {"display_name": "pwned"}, headers=alice.headers, status=404
    )
    app.delete(f"{USERS}/{bob.id}", headers=alice.headers, status=404)
    assert app.get(f"{USERS}/{bob.id}", headers=admin.headers).json["display_name"] == ""


def test_a_user_edits_their_own_profile(app, alice):
    response = app.patch_json(
        f"{USERS}/{alice.id}",
        {"display_name": "Alice Liddell", "email": "ALICE@wonderland.example"},
        headers=alice.headers,
    )
    assert response.json["display_name"] == "Alice Liddell"
    assert response.json["email"] == "alice@wonderland.example"
    assert "session" not in response.json
    by_email = {"email": "Alice@Wonderland.example", "password": alice.password}
    assert app.post_json("/api/v1/auth/login", by_email).status_code == 200


def test_email_can_be_removed_with_null(app, alice):
    response = app.patch_json(f"{USERS}/{alice.id}", {"email": None}, headers=alice.headers)
    assert response.json["email"] is None


@pytest.mark.parametrize("body", [{"is_admin": True}, {"is_active": True}, {"username": "queen"}])
def test_no_self_promotion_or_privileged_self_edits(app, admin, alice, body):
    response = app.patch_json(f"{USERS}/{alice.id}", body, headers=alice.headers, status=403)
    assert problem_pointers(response) == [f"/{next(iter(body))}"]
    after = app.get(f"{USERS}/{alice.id}", headers=admin.headers).json
    assert after["roles"] == []
    assert after["username"] == "alice"
    app.get(USERS, headers=alice.headers, status=403)


def test_a_user_cannot_delete_themself(app, alice):
    app.delete(f"{USERS}/{alice.id}", headers=alice.headers, status=403)
    app.get(f"{USERS}/{alice.id}", headers=alice.headers, status=200)


def test_admin_edits_another_user_and_renames_them(app, admin, alice):
    response = app.patch_json(
        f"{USERS}/{alice.id}",
        {"username": "Alicia", "display_name": "Alicia"},
        headers=admin.headers,
    )
    assert response.json["username"] == "alicia"
    assert login(app, "alicia").status_code == 200
    # Her session carries on under the new name.
    assert app.get("/api/v1/auth/me", headers=alice.headers).json["user"]["username"] == "alicia"


def test_admin_deletes_a_user_whose_tokens_die_at_once(app, admin, alice):
    app.delete(f"{USERS}/{alice.id}", headers=admin.headers, status=204)
    app.get(f"{USERS}/{alice.id}", headers=admin.headers, status=404)
    app.get("/api/v1/auth/me", headers=alice.headers, status=401)
    app.post_json(
        "/api/v1/auth/refresh", {"refresh_token": alice.tokens["refresh_token"]}, status=401
    )
    login(app, "alice", status=401)


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "pointers"),
    [
        ({"username": "a", "password": PASSWORD}, ["/username"]),
        ({"username": "-dash", "password": PASSWORD}, ["/username"]),
        ({"username": "has space", "password": PASSWORD}, ["/username"]),
        ({"username": "x" * 65, "password": PASSWORD}, ["/username"]),
        ({"username": "émile", "password": PASSWORD}, ["/username"]),
        ({"username": 42, "password": PASSWORD}, ["/username"]),
        ({"username": "dave", "password": "short"}, ["/password"]),
        ({"username": "dave", "password": 123456789012345}, ["/password"]),
        ({"username": "davedavedave", "password": "DaveDaveDave"}, ["/password"]),
        ({"username": "dave", "password": "x" * 1025}, ["/password"]),
        ({"username": "dave", "password": PASSWORD, "email": "nope"}, ["/email"]),
        ({"username": "dave", "password": PASSWORD, "email": "a@b"}, ["/email"]),
        ({"username": "dave", "password": PASSWORD, "email": "a b@c.org"}, ["/email"]),
        ({"username": "dave", "password": PASSWORD, "email": ["a@b.org"]}, ["/email"]),
        ({"username": "dave", "password": PASSWORD, "display_name": "x" * 201}, ["/display_name"]),
        ({"username": "dave", "password": PASSWORD, "display_name": 7}, ["/display_name"]),
        ({"username": "dave", "password": PASSWORD, "display_name": "a\x07b"}, ["/display_name"]),
        ({"username": "dave", "password": PASSWORD, "is_admin": "yes"}, ["/is_admin"]),
        ({"username": "dave", "password": PASSWORD, "is_active": 1}, ["/is_active"]),
        ({"username": "dave", "password": PASSWORD, "role": "admin"}, ["/role"]),
        ({"password": PASSWORD}, ["/username"]),
        ({"username": "dave"}, ["/password"]),
        (
            {"username": "a", "password": "short", "email": "x"},
            ["/username", "/email", "/password"],
        ),
    ],
)
def test_create_validation_problems_name_each_field(app, admin, body, pointers):
    response = app.post_json(USERS, body, headers=admin.headers, status=400)
    assert sorted(problem_pointers(response)) == sorted(pointers)
    assert response.json["type"] == "urn:benben:problem:validation-error"
    if isinstance(body.get("password"), str):
        assert body["password"] not in response.text
    assert [u["username"] for u in app.get(USERS, headers=admin.headers).json["data"]] == ["root"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b""])
def test_a_body_that_is_not_a_json_object_is_400(app, admin, raw):
    response = app.post(
        USERS, raw, headers={**admin.headers, "Content-Type": "application/json"}, status=400
    )
    assert problem_pointers(response) == [""]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"email": "broken"}, "/email"),
        ({"display_name": ["x"]}, "/display_name"),
        ({"nickname": "al"}, "/nickname"),
        ({"password": "short", "current_password": PASSWORD}, "/password"),
    ],
)
def test_update_validation_problems_name_the_field(app, alice, body, pointer):
    response = app.patch_json(f"{USERS}/{alice.id}", body, headers=alice.headers, status=400)
    assert pointer in problem_pointers(response)


def test_duplicate_username_or_email_is_409_naming_the_field(app, admin, alice):
    taken_name = app.post_json(
        USERS, {"username": "ALICE", "password": PASSWORD}, headers=admin.headers, status=409
    )
    assert problem_pointers(taken_name) == ["/username"]
    assert "alice" in taken_name.json["detail"]
    taken_mail = app.post_json(
        USERS,
        {"username": "alice2", "password": PASSWORD, "email": "Alice@Example.org"},
        headers=admin.headers,
        status=409,
    )
    assert problem_pointers(taken_mail) == ["/email"]
    renamed = app.patch_json(
        f"{USERS}/{admin.id}", {"email": "alice@example.org"}, headers=admin.headers, status=409
    )
    assert problem_pointers(renamed) == ["/email"]


def test_a_concurrent_duplicate_caught_by_the_database_is_still_a_409(
    app, admin, alice, monkeypatch
):
    """The pre-check passes (as when another request inserts between check and insert): the
    unique constraint fires, and the answer is the same 409, not a 500."""
    from benben.accounts import services

    monkeypatch.setattr(services, "_ensure_unique_user", lambda *args, **kwargs: None)
    created = app.post_json(
        USERS, {"username": "alice", "password": PASSWORD}, headers=admin.headers, status=409
    )
    assert problem_pointers(created) == ["/username"]
    updated = app.patch_json(
        f"{USERS}/{admin.id}", {"email": "alice@example.org"}, headers=admin.headers, status=409
    )
    assert problem_pointers(updated) == ["/email"]
    # The transaction was still usable: a valid request right after works.
    app.post_json(
        USERS, {"username": "zed", "password": PASSWORD}, headers=admin.headers, status=201
    )


def test_put_is_not_allowed_on_a_user(app, admin, alice):
    response = app.put_json(f"{USERS}/{alice.id}", {}, headers=admin.headers, status=405)
    assert "PATCH" in response.headers["Allow"]


def test_account_routes_count_against_the_accounts_rate_limit_group(make_app):
    from accounts_support import make_account

    app = make_app({"benben.ratelimit.groups": "accounts=2/minute"})
    admin = make_account(app, "root", is_admin=True)
    app.get(USERS, headers=admin.headers, status=200)
    app.get(f"{USERS}/{admin.id}", headers=admin.headers, status=200)
    limited = app.get("/api/v1/groups", headers=admin.headers, status=429)
    assert "Retry-After" in limited.headers
    # Other routes keep the default limit.
    app.get("/api/v1/auth/me", headers=admin.headers, status=200)
