"""What account changes do to sessions and privileges: password changes, deactivation,
promotion and demotion, the last administrator, and token scopes."""

from __future__ import annotations

import pytest
from accounts_support import NEW_PASSWORD, PASSWORD, bearer, login, make_account, problem_pointers

from benben.testing import eventually

USERS = "/api/v1/users"
ME = "/api/v1/auth/me"
REFRESH = "/api/v1/auth/refresh"


def refresh(app, token, status=200):
    return app.post_json(REFRESH, {"refresh_token": token}, status=status)


# -- changing one's own password ------------------------------------------------------------


def test_own_password_change_needs_the_current_password(app, alice):
    url = f"{USERS}/{alice.id}"
    missing = app.patch_json(url, {"password": NEW_PASSWORD}, headers=alice.headers, status=400)
    assert problem_pointers(missing) == ["/current_password"]
    wrong = app.patch_json(
        url,
        {"password": NEW_PASSWORD, "current_password": "not my password at all"},
        headers=alice.headers,
        status=400,
    )
    assert problem_pointers(wrong) == ["/current_password"]
    assert "not my password" not in wrong.text
    login(app, "alice", NEW_PASSWORD, status=401)
    login(app, "alice", PASSWORD, status=200)


def test_guessing_the_current_password_is_throttled_like_logins(app, alice):
    url = f"{USERS}/{alice.id}"
    body = {"password": NEW_PASSWORD, "current_password": "wrong guess number x"}
    for _ in range(5):  # benben.auth.login_failures_per_account: 5/minute first
        app.patch_json(url, body, headers=alice.headers, status=400)
    throttled = app.patch_json(url, body, headers=alice.headers, status=429)
    assert int(throttled.headers["Retry-After"]) >= 1
    # Even the right password now waits: the account is locked for the window.
    right = {"password": NEW_PASSWORD, "current_password": PASSWORD}
    app.patch_json(url, right, headers=alice.headers, status=429)


def test_current_password_is_refused_when_not_changing_ones_own(app, admin, alice):
    response = app.patch_json(
        f"{USERS}/{alice.id}",
        {"display_name": "x", "current_password": PASSWORD},
        headers=alice.headers,
        status=400,
    )
    assert problem_pointers(response) == ["/current_password"]


def test_own_password_change_ends_other_sessions_and_keeps_the_callers(app, alice):
    other = login(app, "alice").json  # e.g. another device
    response = app.patch_json(
        f"{USERS}/{alice.id}",
        {"password": NEW_PASSWORD, "current_password": PASSWORD},
        headers=alice.headers,
    )
    assert response.json["username"] == "alice"
    session = response.json["session"]
    assert response.headers["Cache-Control"] == "no-store"
    assert session["token_type"] == "Bearer"
    assert session["expires_in"] > 0
    assert "refresh_token" not in session

    # The other session is over: its access token and its refresh token are refused.
    app.get(ME, headers=bearer(other["access_token"]), status=401)
    refresh(app, other["refresh_token"], status=401)
    # The access token used for the change was issued before it: refused too...
    app.get(ME, headers=alice.headers, status=401)
    # ...but the caller carries on with the fresh one, and its refresh token still works.
    assert app.get(ME, headers=bearer(session["access_token"])).json["user"]["id"] == alice.id
    renewed = refresh(app, alice.tokens["refresh_token"]).json
    app.get(ME, headers=bearer(renewed["access_token"]), status=200)

    login(app, "alice", PASSWORD, status=401)
    login(app, "alice", NEW_PASSWORD, status=200)


def test_admin_resetting_a_password_ends_all_that_users_sessions(app, admin, alice):
    response = app.patch_json(
        f"{USERS}/{alice.id}", {"password": NEW_PASSWORD}, headers=admin.headers
    )
    assert "session" not in response.json
    app.get(ME, headers=alice.headers, status=401)
    refresh(app, alice.tokens["refresh_token"], status=401)
    login(app, "alice", NEW_PASSWORD, status=200)
    # The admin's own session is untouched.
    app.get(ME, headers=admin.headers, status=200)


def test_admin_changing_their_own_password_needs_the_current_one_too(app, admin):
    app.patch_json(
        f"{USERS}/{admin.id}", {"password": NEW_PASSWORD}, headers=admin.headers, status=400
    )


# -- deactivation, promotion, last administrator --------------------------------------------


def test_deactivation_ends_sessions_at_once_and_reactivation_allows_login(app, admin, alice):
    api_token = app.post_json(
        "/api/v1/tokens", {"name": "script", "scopes": ["read"]}, headers=alice.headers
    ).json["token"]
    app.get(ME, headers=bearer(api_token), status=200)

    response = app.patch_json(f"{USERS}/{alice.id}", {"is_active": False}, headers=admin.headers)
    assert response.json["is_active"] is False
    app.get(ME, headers=alice.headers, status=401)
    app.get(ME, headers=bearer(api_token), status=401)
    refresh(app, alice.tokens["refresh_token"], status=401)
    login(app, "alice", status=401)

    app.patch_json(f"{USERS}/{alice.id}", {"is_active": True}, headers=admin.headers)
    # Reactivation does not revive the sessions that deactivation ended.
    app.get(ME, headers=alice.headers, status=401)
    refresh(app, alice.tokens["refresh_token"], status=401)
    fresh = login(app, "alice").json
    app.get(ME, headers=bearer(fresh["access_token"]), status=200)


def test_promotion_and_demotion_take_effect_on_the_next_request(app, admin, alice):
    app.get(USERS, headers=alice.headers, status=403)
    promoted = app.patch_json(f"{USERS}/{alice.id}", {"is_admin": True}, headers=admin.headers)
    assert promoted.json["roles"] == ["admin"]
    app.get(USERS, headers=alice.headers, status=200)  # same token, new principals
    app.patch_json(f"{USERS}/{alice.id}", {"is_admin": False}, headers=admin.headers)
    app.get(USERS, headers=alice.headers, status=403)


def test_the_last_active_admin_cannot_be_demoted_deactivated_or_deleted(app, admin):
    url = f"{USERS}/{admin.id}"
    for body, pointer in (({"is_admin": False}, "/is_admin"), ({"is_active": False}, "/is_active")):
        response = app.patch_json(url, body, headers=admin.headers, status=409)
        assert "last active administrator" in response.json["detail"]
        assert problem_pointers(response) == [pointer]
    app.delete(url, headers=admin.headers, status=409)
    assert app.get(url, headers=admin.headers).json["roles"] == ["admin"]


def test_an_admin_may_step_down_once_another_active_admin_exists(app, admin):
    deputy = make_account(app, "deputy", is_admin=True)
    dormant = make_account(app, "dormant", is_admin=True)
    app.patch_json(f"{USERS}/{dormant.id}", {"is_active": False}, headers=admin.headers)
    # Deputy is still an active admin, so root may step down.
    app.patch_json(f"{USERS}/{admin.id}", {"is_admin": False}, headers=admin.headers)
    app.get(USERS, headers=admin.headers, status=403)
    # Now deputy is the last active admin (dormant is deactivated).
    app.delete(f"{USERS}/{deputy.id}", headers=deputy.headers, status=409)
    app.patch_json(f"{USERS}/{deputy.id}", {"is_admin": False}, headers=deputy.headers, status=409)


def test_changing_another_users_account_needs_an_admin_scope(app, admin, alice):
    """An admin's API token limited to "write" may not manage accounts: that needs ADMIN."""
    write_token = app.post_json(
        "/api/v1/tokens", {"name": "data", "scopes": ["write"]}, headers=admin.headers
    ).json["token"]
    headers = bearer(write_token)
    app.get(f"{USERS}/{alice.id}", headers=headers, status=200)
    app.patch_json(f"{USERS}/{alice.id}", {"display_name": "x"}, headers=headers, status=403)
    app.post_json(USERS, {"username": "eve", "password": PASSWORD}, headers=headers, status=403)
    app.delete(f"{USERS}/{alice.id}", headers=headers, status=403)
    admin_token = app.post_json(
        "/api/v1/tokens", {"name": "ops", "scopes": ["admin"]}, headers=admin.headers
    ).json["token"]
    app.post_json(
        USERS, {"username": "eve", "password": PASSWORD}, headers=bearer(admin_token), status=201
    )


def test_a_read_only_token_cannot_edit_its_owners_profile(app, alice):
    read_token = app.post_json(
        "/api/v1/tokens", {"name": "ro", "scopes": ["read"]}, headers=alice.headers
    ).json["token"]
    headers = bearer(read_token)
    app.get(f"{USERS}/{alice.id}", headers=headers, status=200)
    app.patch_json(f"{USERS}/{alice.id}", {"display_name": "x"}, headers=headers, status=403)


def test_two_admins_demoting_each_other_at_once_leave_one_admin(app, admin, monkeypatch):
    """Each request alone is allowed (another admin exists); together they would leave none.

    Both requests are held right after their last-admin check until both have made it, the
    worst interleaving.  The check's row locks (PostgreSQL: a deadlock, one request replayed by
    pyramid_retry) let only one win.  On SQLite a writer's transaction starts with the write lock
    (BEGIN IMMEDIATE), so the second cannot even run its check: the hold gives up after a while.
    """
    import threading

    from benben.accounts import services

    deputy = make_account(app, "deputy", is_admin=True)
    both_checked = threading.Condition()
    held: set[int] = set()
    real_check = services._ensure_other_active_admin

    def check_then_wait(dbsession, user, field):
        real_check(dbsession, user, field)
        if threading.get_ident() not in held:  # replays go straight on
            with both_checked:
                held.add(threading.get_ident())
                both_checked.notify_all()
                # Bounded below SQLite's busy timeout (5 s), which the other writer waits in.
                both_checked.wait_for(lambda: len(held) == 2, timeout=2)

    monkeypatch.setattr(services, "_ensure_other_active_admin", check_then_wait)
    statuses: dict[str, int] = {}

    def demote(actor, target):
        response = app.patch_json(
            f"{USERS}/{target.id}", {"is_admin": False}, headers=actor.headers, expect_errors=True
        )
        statuses[actor.username] = response.status_code

    threads = [
        threading.Thread(target=demote, args=(admin, deputy)),
        threading.Thread(target=demote, args=(deputy, admin)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winner, loser = sorted(statuses, key=lambda name: statuses[name] != 200)
    assert statuses[winner] == 200, statuses
    # The loser saw the winner's change: either the last-admin check (409), or, replayed after
    # the winner committed, it is no admin any more and the account is hidden from it (404).
    assert statuses[loser] in (404, 409), statuses
    survivor = admin if winner == admin.username else deputy
    users = app.get(USERS, headers=survivor.headers).json["data"]
    assert [u["username"] for u in users if u["roles"] == ["admin"] and u["is_active"]] == [
        survivor.username
    ]


# Only a shared cache can be coherent across instances: in-process caches are private to each
# instance (their facts expire within a minute), so this runs on PostgreSQL + Redis only.
@pytest.mark.parametrize("backends", [("postgresql", "redis")], indirect=True, ids=["shared"])
def test_changes_take_effect_at_once_on_every_instance_sharing_the_cache(
    app, admin, alice, make_app
):
    """Two instances on one database and one Redis: cached principals are dropped for both."""
    other = make_app()
    app.get(ME, headers=alice.headers, status=200)
    other.get(USERS, headers=alice.headers, status=403)  # the other instance caches her facts

    app.patch_json(f"{USERS}/{alice.id}", {"is_admin": True}, headers=admin.headers)
    eventually(lambda: other.get(USERS, headers=alice.headers, status=200))

    app.patch_json(f"{USERS}/{alice.id}", {"is_active": False}, headers=admin.headers)
    eventually(lambda: other.get(ME, headers=alice.headers, status=401))
