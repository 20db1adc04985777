"""The login view applies the login throttle: brute force against one account is stopped."""

from __future__ import annotations

from benben.testing_auth import DEFAULT_PASSWORD as PASSWORD
from benben.testing_auth import login


def attempt(app, username, password, status):
    return app.post_json(
        "/api/v1/auth/login", {"username": username, "password": password}, status=status
    )


def test_repeated_failures_lock_the_account_even_for_the_right_password(make_app, create_user):
    app = make_app({"benben.auth.login_failures": "3/minute"})
    create_user("alice")
    for _ in range(3):
        attempt(app, "alice", "wrong password!", 401)
    locked = attempt(app, "ALICE", PASSWORD, 429)
    assert locked.content_type == "application/problem+json"
    assert int(locked.headers["Retry-After"]) >= 1


def test_a_successful_login_resets_the_account_counter(make_app, create_user):
    app = make_app({"benben.auth.login_failures": "3/minute"})
    create_user("bob")
    for _ in range(2):
        attempt(app, "bob", "wrong password!", 401)
    assert login(app, "bob")["access_token"]
    # From another address (whose own counter is fresh): the account's count starts again.
    elsewhere = {"REMOTE_ADDR": "192.0.2.7"}
    for _ in range(2):
        app.post_json("/api/v1/auth/login", {"username": "bob", "password": "wrong password!"},
                      extra_environ=elsewhere, status=401)  # fmt: skip
    assert login(app, "bob", extra_environ=elsewhere)["access_token"]


def test_unknown_accounts_are_throttled_like_real_ones(make_app):
    app = make_app({"benben.auth.login_failures": "2/minute"})
    for _ in range(2):
        attempt(app, "ghost", "wrong password!", 401)
    attempt(app, "ghost", "wrong password!", 429)
