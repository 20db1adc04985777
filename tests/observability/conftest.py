"""Fixtures of the observability tests."""

from __future__ import annotations

from typing import Any

import pytest

from benben.testing_auth import FAST_PASSWORD_HASHING
from benben.testing_auth import auth_headers as auth_headers  # re-exported: a fixture
from benben.testing_auth import create_user as create_user  # re-exported: a fixture


@pytest.fixture
def app_settings(backends: Any) -> dict[str, Any]:
    # Cheap argon2 parameters: these tests log in, they do not measure hashing.
    return {**backends.settings(), **FAST_PASSWORD_HASHING}
