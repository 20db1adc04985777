"""Fixtures of the change streams' tests: the app served for real (streams are handed off to the
hub as under benben serve), users logged in for real."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from benben.testing_auth import FAST_PASSWORD_HASHING, add_user, bearer, login
from benben.testing_streams import serve_streaming


@pytest.fixture
def app_settings(backends: Any) -> dict[str, Any]:
    return {
        **backends.settings(),
        **FAST_PASSWORD_HASHING,
        "benben.ratelimit.enabled": "false",
        # Other tests' transactions hold PostgreSQL's feed horizon back a moment: poll often.
        "benben.realtime.poll_seconds": "0.1",
    }


def login_as(app: Any, username: str, **fields: Any) -> dict[str, Any]:
    add_user(app.app.registry, username, **fields)
    return login(app, username)


@pytest.fixture
def admin_headers(app: Any) -> dict[str, str]:
    return bearer(login_as(app, "root", is_admin=True)["access_token"])


@pytest.fixture
def alice(app: Any) -> dict[str, Any]:
    """Alice's token pair (``access_token``, ``refresh_token``)."""
    return login_as(app, "alice")


@pytest.fixture
def alice_headers(alice: dict[str, Any]) -> dict[str, str]:
    return bearer(alice["access_token"])


@pytest.fixture
def bob_headers(app: Any) -> dict[str, str]:
    return bearer(login_as(app, "bob")["access_token"])


@pytest.fixture
def served(app: Any) -> Iterator[str]:
    """The app's base URL, served by waitress with the streaming channel."""
    with serve_streaming(app.app) as base_url:
        yield base_url
