"""POST /api/v1/auth/login: a token pair for good credentials, one uniform 401 otherwise."""

from __future__ import annotations

import jwt
from sqlalchemy import select

from benben.testing_auth import DEFAULT_PASSWORD as PASSWORD
from benben.testing_auth import bearer, login

PROBLEM = "application/problem+json"


def test_login_returns_a_bearer_token_pair_that_works(app, create_user):
    user_id = create_user("alice")
    response = app.post_json("/api/v1/auth/login", {"username": "Alice", "password": PASSWORD})
    body = response.json
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert response.headers["Cache-Control"] == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == user_id
    assert claims["iss"] == "benben"
    assert claims["aud"] == "benben"
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"]
    me = app.get("/api/v1/auth/me", headers=bearer(body["access_token"])).json
    assert me["user"]["id"] == user_id
    assert me["user"]["username"] == "alice"
    assert "password_hash" not in me["user"]


def test_login_by_email_or_by_login_field(app, create_user):
    create_user("bob", email="Bob@Example.org")
    assert app.post_json(
        "/api/v1/auth/login", {"email": "bob@example.ORG", "password": PASSWORD}
    ).json["access_token"]
    assert app.post_json(
        "/api/v1/auth/login", {"login": "BOB@example.org", "password": PASSWORD}
    ).json["access_token"]
    assert app.post_json("/api/v1/auth/login", {"login": "bob", "password": PASSWORD}).json


def test_unknown_user_wrong_password_and_inactive_user_get_the_same_401(app, create_user):
    create_user("alice")
    create_user("sleepy", is_active=False)
    attempts = [
        {"username": "nobody", "password": PASSWORD},
        {"username": "alice", "password": "wrong password here"},
        {"username": "sleepy", "password": PASSWORD},
    ]
    bodies = []
    for attempt in attempts:
        response = app.post_json("/api/v1/auth/login", attempt, status=401)
        assert response.content_type == PROBLEM
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        body = response.json
        body.pop("request_id")
        bodies.append(body)
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0]["detail"] == "The username, email or password is not correct."


def test_unknown_user_costs_a_password_verification(app, monkeypatch):
    from benben.security.passwords import PasswordHasher

    calls = []
    original = PasswordHasher.verify_dummy
    monkeypatch.setattr(
        PasswordHasher, "verify_dummy", lambda self, pw: calls.append(pw) or original(self, pw)
    )
    app.post_json("/api/v1/auth/login", {"username": "ghost", "password": "x" * 20}, status=401)
    assert calls == ["x" * 20]


def test_login_validation_errors_name_the_field(app):
    cases = [
        ({"password": PASSWORD}, "/username"),
        ({"username": "a", "email": "a@b.c", "password": PASSWORD}, "/username"),
        ({"username": "alice"}, "/password"),
        ({"username": 5, "password": PASSWORD}, "/username"),
        ({"username": "alice", "password": "x" * 1025}, "/password"),
    ]
    for body, pointer in cases:
        problem = app.post_json("/api/v1/auth/login", body, status=400).json
        assert problem["errors"][0]["pointer"] == pointer, body
    bad = app.post("/api/v1/auth/login", "{nope", content_type="application/json", status=400)
    assert bad.content_type == PROBLEM
    assert app.post_json("/api/v1/auth/login", [1], status=400).json["errors"][0]["pointer"] == ""


def test_login_rehashes_a_password_made_with_old_parameters(app, registry, create_user, dbsession):
    from benben.accounts.models import User
    from benben.security.passwords import PasswordHasher

    old = PasswordHasher(time_cost=2, memory_cost=64, parallelism=1).hash(PASSWORD)
    user_id = create_user("alice")
    with registry["benben.db.engine"].begin() as connection:
        connection.execute(
            User.__table__.update().where(User.id == user_id).values(password_hash=old)
        )
    login(app, "alice")
    dbsession.expire_all()
    stored = dbsession.scalars(select(User.password_hash).where(User.id == user_id)).one()
    assert stored != old
    assert "t=1," in stored  # the configured cost (tests/auth/conftest.py FAST_HASHING)
    assert dbsession.get(User, user_id).last_login_at is not None
    login(app, "alice")  # and the new hash verifies
