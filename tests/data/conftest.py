"""Fixtures of the data API tests: users logged in through the real login endpoint, and a
collection owned by alice."""

from __future__ import annotations

from typing import Any

import pytest
from data_query_support import add_collection, engine_of
from data_support import COLLECTIONS, DataQueries, User, make_user, record_url
from sqlalchemy import Engine

from benben.testing_auth import FAST_PASSWORD_HASHING


@pytest.fixture
def app_settings(backends: Any) -> dict[str, Any]:
    # Cheap argon2; no rate limit: tests drive many requests as one user.
    return {**backends.settings(), **FAST_PASSWORD_HASHING, "benben.ratelimit.enabled": "false"}


@pytest.fixture
def admin(app: Any) -> User:
    return make_user(app, "root", is_admin=True)


@pytest.fixture
def alice(app: Any) -> User:
    return make_user(app, "alice")


@pytest.fixture
def bob(app: Any) -> User:
    return make_user(app, "bob")


@pytest.fixture
def carol(app: Any) -> User:
    """A member of group staff."""
    return make_user(app, "carol", groups=["staff"])


@pytest.fixture
def notes(app: Any, alice: User) -> dict[str, Any]:
    """Collection "notes" created by alice, no schema, no grants."""
    return app.post_json("/api/v1/collections", {"id": "notes"}, headers=alice.headers).json


@pytest.fixture
def shelf(app: Any, alice: User) -> str:
    """Collection "shelf" created by alice, holding record "b1"."""
    app.put_json(f"{COLLECTIONS}/shelf", {}, headers=alice.headers, status=201)
    app.put_json(record_url("shelf", "b1"), {"data": {"title": "Dune"}}, headers=alice.headers)
    return "shelf"


@pytest.fixture
def things_engine(registry: Any) -> Engine:
    """The app's engine, with an empty collection "things" written straight through the ORM."""
    engine = engine_of(registry)
    add_collection(engine, "things")
    return engine


@pytest.fixture
def queries(app: Any) -> Any:
    """Counts the SQL statements on the data tables (``with queries.counting() as statements``)."""
    counter = DataQueries(app.app.registry)
    yield counter
    counter.close()
