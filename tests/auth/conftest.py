"""Fixtures for the authentication tests (shared with plugin authors via benben.testing_auth)."""

from __future__ import annotations

from typing import Any

import pytest

from benben.testing_auth import FAST_PASSWORD_HASHING, bearer, login
from benben.testing_auth import auth_headers as auth_headers  # re-exported: a fixture
from benben.testing_auth import create_user as create_user  # re-exported: a fixture


@pytest.fixture
def app_settings(backends: Any) -> dict[str, Any]:
    # Cheap argon2 parameters: the tests exercise hashing, not its cost.
    return {**backends.settings(), **FAST_PASSWORD_HASHING}


@pytest.fixture
def alice(app: Any, create_user: Any) -> dict[str, Any]:
    """A logged-in ordinary user: {"id", "tokens", "headers"}."""
    user_id = create_user("alice", display_name="Alice")
    tokens = login(app, "alice")
    return {"id": user_id, "tokens": tokens, "headers": bearer(tokens["access_token"])}
