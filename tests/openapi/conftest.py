"""Fixtures of the OpenAPI tests: cheap hashing, no rate limit (schemathesis sends many requests
as one caller), an administrator logged in through the real login endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from benben.testing_auth import FAST_PASSWORD_HASHING, add_user, bearer, login


@pytest.fixture
def app_settings(backends: Any) -> dict[str, Any]:
    return {**backends.settings(), **FAST_PASSWORD_HASHING, "benben.ratelimit.enabled": "false"}


@pytest.fixture
def admin_headers(app: Any) -> dict[str, str]:
    add_user(app.app.registry, "root", is_admin=True)
    return bearer(login(app, "root")["access_token"])
