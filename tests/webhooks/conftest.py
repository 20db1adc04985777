"""Fixtures of the webhooks plugin's tests: an app on each backend that may send to loopback
receivers, and the people who use it."""

from __future__ import annotations

from typing import Any

import pytest
import webtest
from webhooks_support import LOOPBACK, People, people

from benben.testing import Backends
from benben.testing_auth import FAST_PASSWORD_HASHING


@pytest.fixture
def app_settings(backends: Backends) -> dict[str, Any]:
    """This run's backends, loopback receivers allowed (the SSRF guard refuses them
    otherwise), cheap password hashing (each test logs three people in)."""
    return {
        **backends.settings(),
        **FAST_PASSWORD_HASHING,
        "benben.webhooks.allowed_networks": LOOPBACK,
    }


@pytest.fixture
def who(app: webtest.TestApp) -> People:
    """root (an administrator), alice and bob, logged in: ``who.alice`` are her headers."""
    return people(app)
