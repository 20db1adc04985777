"""pytest helpers for code behind authentication: users, logins, bearer headers.

For plugin authors: ``pytest_plugins = ["benben.testing"]`` brings these fixtures too, then::

    def test_my_view(app, create_user, auth_headers):
        create_user("alice", groups=["staff"])
        app.get("/myplugin/things", headers=auth_headers(app, "alice"))

Users are written straight through the ORM in their own committed transaction, so tests do not
depend on the users API.  ``FAST_PASSWORD_HASHING`` makes argon2 cheap for tests: merge it into
``app_settings`` (or a ``make_app`` override).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import transaction

__all__ = [
    "DEFAULT_PASSWORD",
    "FAST_PASSWORD_HASHING",
    "add_user",
    "auth_headers",
    "bearer",
    "create_user",
    "login",
]

DEFAULT_PASSWORD = "correct horse battery staple"  # noqa: S105 - test users only
FAST_PASSWORD_HASHING = {
    "benben.auth.argon2_time_cost": "1",
    "benben.auth.argon2_memory_cost": "64",
    "benben.auth.argon2_parallelism": "1",
}


def add_user(registry: Any, username: str, password: str = DEFAULT_PASSWORD, **fields: Any) -> str:
    """Create a user (``groups=[names]`` creates missing groups); returns the new id."""
    from benben.accounts.models import Group, User
    from benben.db import get_tm_session, session_factory
    from benben.security import get_password_hasher

    groups = fields.pop("groups", [])
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_tm_session(session_factory(registry), manager)
        user = User(
            username=username.lower(),
            email=fields.pop("email", f"{username.lower()}@example.org"),
            password_hash=get_password_hasher(registry).hash(password),
            **fields,
        )
        for name in groups:
            group = session.query(Group).filter_by(name=name).one_or_none()
            user.groups.append(group or Group(name=name))
        session.add(user)
        session.flush()
        user_id: str = user.id
    return user_id


def login(app: Any, username: str, password: str = DEFAULT_PASSWORD, **kwargs: Any) -> Any:
    """``POST /api/v1/auth/login``; the token pair as a dict."""
    body = {"username": username, "password": password}
    return app.post_json("/api/v1/auth/login", body, **kwargs).json


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def create_user(registry: Any) -> Callable[..., str]:
    """``create_user("alice", is_admin=True, groups=["staff"])`` -> the new user's id."""

    def factory(username: str, password: str = DEFAULT_PASSWORD, **fields: Any) -> str:
        return add_user(registry, username, password, **fields)

    return factory


@pytest.fixture
def auth_headers() -> Callable[..., dict[str, str]]:
    """``auth_headers(app, "alice")`` -> ``{"Authorization": "Bearer <access token>"}``."""

    def factory(app: Any, username: str, password: str = DEFAULT_PASSWORD) -> dict[str, str]:
        return bearer(login(app, username, password)["access_token"])

    return factory
