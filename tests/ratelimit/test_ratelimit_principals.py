"""Authenticated callers are limited per user, whatever their address; anonymous ones per
address.  Users are made through the ORM and log in through the real login endpoint."""

from __future__ import annotations

from typing import Any

import pytest
import transaction

PASSWORD = "correct horse battery staple"
FAST_HASHING = {
    "benben.auth.argon2_time_cost": "1",
    "benben.auth.argon2_memory_cost": "64",
    "benben.auth.argon2_parallelism": "1",
}


@pytest.fixture
def app_settings(backends: Any) -> dict[str, Any]:
    return {**backends.settings(), **FAST_HASHING}


def add_user(registry: Any, username: str) -> None:
    from benben.accounts.models import User
    from benben.db import SESSION_FACTORY_KEY, get_tm_session
    from benben.security import get_password_hasher

    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_tm_session(registry[SESSION_FACTORY_KEY], manager)
        hashed = get_password_hasher(registry).hash(PASSWORD)
        session.add(User(username=username, email=f"{username}@example.org",
                         password_hash=hashed))  # fmt: skip


def bearer(app: Any, username: str) -> dict[str, str]:
    tokens = app.post_json(
        "/api/v1/auth/login", {"username": username, "password": PASSWORD},
        extra_environ={"REMOTE_ADDR": f"10.8.0.{len(username)}"},
    ).json  # fmt: skip
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def app(make_app):
    app = make_app({"benben.ratelimit.default": "3/minute"})
    for name in ("alice", "bob"):
        add_user(app.app.registry, name)
    return app


def me(app, headers, address, status=200):
    return app.get("/api/v1/auth/me", headers=headers, extra_environ={"REMOTE_ADDR": address},
                   status=status)  # fmt: skip


def test_a_user_is_limited_across_addresses(app):
    alice = bearer(app, "alice")
    for index in range(3):
        me(app, alice, f"10.0.0.{index}")
    refused = me(app, alice, "10.0.0.9", status=429)
    assert refused.content_type == "application/problem+json"
    assert int(refused.headers["Retry-After"]) >= 1


def test_users_behind_one_address_do_not_share(app):
    alice, bob = bearer(app, "alice"), bearer(app, "bob")
    for _ in range(3):
        me(app, alice, "10.0.0.1")
    me(app, alice, "10.0.0.1", status=429)
    assert me(app, bob, "10.0.0.1").headers["RateLimit-Remaining"] == "2"
    # Nor does the anonymous traffic of that address.
    anonymous = app.get("/api/v1/", extra_environ={"REMOTE_ADDR": "10.0.0.1"})
    assert anonymous.headers["RateLimit-Remaining"] == "2"
