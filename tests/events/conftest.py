"""Fixtures of the change feed's tests: an administrator and a user logged in for real."""

from __future__ import annotations

from typing import Any

import pytest

from benben.testing_auth import FAST_PASSWORD_HASHING, add_user, bearer, login


@pytest.fixture
def app_settings(backends: Any) -> dict[str, Any]:
    return {**backends.settings(), **FAST_PASSWORD_HASHING, "benben.ratelimit.enabled": "false"}


def headers_of(app: Any, username: str, **fields: Any) -> dict[str, str]:
    add_user(app.app.registry, username, **fields)
    return bearer(login(app, username)["access_token"])


@pytest.fixture
def admin_headers(app: Any) -> dict[str, str]:
    return headers_of(app, "root", is_admin=True)


@pytest.fixture
def alice_headers(app: Any) -> dict[str, str]:
    return headers_of(app, "alice")
