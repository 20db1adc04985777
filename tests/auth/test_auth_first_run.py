"""The issue's "done when": first admin, log in, me, a second user, an API token."""

from __future__ import annotations

from benben.testing_auth import bearer

ADMIN_PASSWORD = "first admin passphrase 2026"


def test_first_admin_logs_in_creates_a_user_and_an_api_token(make_app):
    app = make_app({"benben.admin_password": ADMIN_PASSWORD})
    tokens = app.post_json(
        "/api/v1/auth/login", {"username": "admin", "password": ADMIN_PASSWORD}
    ).json
    admin = bearer(tokens["access_token"])
    me = app.get("/api/v1/auth/me", headers=admin).json
    assert me["user"]["username"] == "admin"
    assert me["roles"] == ["admin"]
    assert me["scopes"] is None

    app.post_json("/api/v1/users", {"username": "erin", "password": "erin's long password"},
                  headers=admin, status=201)  # fmt: skip
    erin = app.post_json(
        "/api/v1/auth/login", {"login": "erin", "password": "erin's long password"}
    ).json
    erin_headers = bearer(erin["access_token"])
    assert app.get("/api/v1/auth/me", headers=erin_headers).json["roles"] == []

    machine = app.post_json("/api/v1/tokens", {"name": "backup job", "scopes": ["read"]},
                            headers=erin_headers, status=201).json  # fmt: skip
    me = app.get("/api/v1/auth/me", headers=bearer(machine["token"])).json
    assert me["user"]["username"] == "erin"
    assert me["credential"] == "api_token"
    # Erin is no admin: creating users is refused with 403 (authenticated, not allowed).
    refused = app.post_json("/api/v1/users", {"username": "x", "password": "p" * 16},
                            headers=erin_headers, status=403)  # fmt: skip
    assert refused.content_type == "application/problem+json"


def test_a_password_change_ends_other_sessions(make_app):
    app = make_app({"benben.admin_password": ADMIN_PASSWORD})
    body = {"username": "admin", "password": ADMIN_PASSWORD}
    laptop = app.post_json("/api/v1/auth/login", body).json
    phone = app.post_json("/api/v1/auth/login", body).json
    me = app.get("/api/v1/auth/me", headers=bearer(laptop["access_token"])).json
    app.patch_json(f"/api/v1/users/{me['user']['id']}",
                   {"password": "a brand new passphrase", "current_password": ADMIN_PASSWORD},
                   headers=bearer(laptop["access_token"]))  # fmt: skip
    app.get("/api/v1/auth/me", headers=bearer(phone["access_token"]), status=401)
    app.post_json("/api/v1/auth/refresh", {"refresh_token": phone["refresh_token"]}, status=401)
    # The session that changed the password goes on (in its own refresh family).
    assert app.post_json("/api/v1/auth/refresh", {"refresh_token": laptop["refresh_token"]}).json
