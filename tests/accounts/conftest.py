"""Fixtures of the accounts tests: cheap hashing, an administrator and an ordinary user, logged
in through the real login endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from accounts_support import FAST_HASHING, Account, make_account


@pytest.fixture
def app_settings(backends: Any) -> dict[str, Any]:
    return {**backends.settings(), **FAST_HASHING}


@pytest.fixture
def admin(app: Any) -> Account:
    return make_account(app, "root", is_admin=True)


@pytest.fixture
def alice(app: Any) -> Account:
    return make_account(app, "alice", email="alice@example.org", display_name="Alice")


@pytest.fixture
def bob(app: Any) -> Account:
    return make_account(app, "bob", email="bob@example.org")
