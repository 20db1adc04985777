"""pytest fixtures for Benben's tests and plugin authors: ``pytest_plugins = ["benben.testing"]``.

Backends: every test that uses ``app`` runs twice, on the embedded default (SQLite + in-process
cache) and on the production pair (PostgreSQL + Redis).  The servers are found at
``BENBEN_TEST_POSTGRESQL_URL`` / ``BENBEN_TEST_REDIS_URL`` (defaults: local servers).  A missing
server skips its tests locally; with ``CI=true`` it fails them, as CI must test every backend.

Isolation: each test gets its own data directory, its own PostgreSQL schema (dropped, or
emptied and kept for a later test, afterwards) and its own Redis key prefix (deleted
afterwards), so tests can run in any order and in parallel.  A test's first app finds its
database already migrated by the same migrations earlier in the session (see
benben.testing_backends).
"""

from __future__ import annotations

import warnings

# Under `pytest -W error`, command-line filters override the ini's, so two known import-time
# warnings of our dependencies would fail every run. Import those modules once, quietly:
# - WebOb 1.8 (the latest Pyramid 2.1 supports) imports the stdlib `cgi`, deprecated in 3.11;
# - Pyramid 2.1 imports pkg_resources, which setuptools deprecates (we pin < 80.9), and
#   pkg_resources then warns about PasteDeploy's old-style `paste` namespace package.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
    warnings.filterwarnings("ignore", "pkg_resources is deprecated")
    warnings.filterwarnings("ignore", "Deprecated call to `pkg_resources.declare_namespace")
    import pyramid.asset  # noqa: F401
    import webob.compat  # noqa: F401

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import pytest
import webtest
from sqlalchemy.orm import Session

# Fixtures for code behind authentication, so that `pytest_plugins = ["benben.testing"]` is all
# a plugin author needs.
from benben.testing_auth import auth_headers, create_user
from benben.testing_backends import Backends, SessionBackends
from benben.testing_feed import feed_settled
from benben.testing_services import (
    in_ci,
    postgresql_schema,
    postgresql_url,
    rabbitmq_url,
    redis_url,
    require_postgresql,
    require_rabbitmq,
    require_redis,
    unavailable,
)
from benben.testing_sessions import committed_session, rolled_back_session
from benben.worker.embedded import run_periodic_tasks, run_queued_tasks

__all__ = [
    "BACKENDS",
    "Backends",
    "SessionBackends",
    "auth_headers",
    "committed_session",
    "create_user",
    "eventually",
    "feed_settled",
    "in_ci",
    "isolated_state_home",
    "postgresql_schema",
    "postgresql_url",
    "rabbitmq_url",
    "redis_url",
    "require_postgresql",
    "require_rabbitmq",
    "require_redis",
    "run_periodic_tasks",
    "run_queued_tasks",
    "unavailable",
]

T = TypeVar("T")

# (database, cache) pairs every `app` test runs on: the embedded default and production's.
BACKENDS = (("sqlite", "memory"), ("postgresql", "redis"))


def eventually(check: Callable[[], T], *, timeout: float = 2.0) -> T:
    """``check()``'s result once it stops raising AssertionError (or its last error).

    For what another instance learns through Redis: announcements arrive within microseconds,
    but a loaded test machine may take Redis a moment to flush them (docs/data-api.md).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)


@pytest.fixture(scope="session")
def session_backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionBackends]:
    """What this session's (this xdist worker's) tests share: migrated template databases."""
    shared = SessionBackends(tmp_path_factory.mktemp("templates"))
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture(autouse=True)
def isolated_state_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Each test its own ``XDG_STATE_HOME``, inherited by the processes it starts: what
    ``benben serve`` records there (its data directory, see benben.cli.datadir) must neither
    leak into the next test nor reach the developer's home."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


@pytest.fixture(params=BACKENDS, ids=["-".join(pair) for pair in BACKENDS])
def backends(
    request: pytest.FixtureRequest, tmp_path: Any, session_backends: SessionBackends
) -> Iterator[Backends]:
    """The backend pair of this test run; cleaned up afterwards."""
    database, cache = request.param
    resources = Backends(database, cache, tmp_path, session_backends)
    try:
        yield resources
    finally:
        resources.close()


@pytest.fixture
def app_settings(backends: Backends) -> dict[str, Any]:
    """Settings for the app under test; override this fixture to add a plugin's settings."""
    return backends.settings()


@pytest.fixture
def make_app(backends: Backends, app_settings: dict[str, Any]) -> Callable[..., webtest.TestApp]:
    """Build another app (migrated) with setting overrides: ``make_app({"benben.x": "y"})``.

    ``include``: a callable given the Configurator after core and plugins, to add test-only
    routes and views (``make_app(include=lambda config: config.add_route(...))``).
    Other keyword arguments go to :func:`benben.config.configure` (``environ``, ``entry_points``).
    """
    from benben.config import configure, should_auto_migrate
    from benben.router import make_router

    def factory(
        overrides: Mapping[str, Any] | None = None,
        *,
        include: Callable[[Any], None] | None = None,
        **kwargs: Any,
    ) -> webtest.TestApp:
        kwargs.setdefault("environ", {})
        kwargs.setdefault("entry_points", backends.shared.plugin_entry_points())
        config = configure({**app_settings, **(overrides or {})}, **kwargs)
        backends.track(config.registry)
        if include is not None:
            include(config)
            config.commit()
        if should_auto_migrate(config.registry.settings):
            backends.migrate(config.registry)
        return webtest.TestApp(make_router(config))

    return factory


@pytest.fixture
def app(make_app: Callable[..., webtest.TestApp]) -> webtest.TestApp:
    """A webtest app on this run's backends, with every installed plugin enabled."""
    return make_app()


@pytest.fixture
def registry(app: webtest.TestApp) -> Any:
    return app.app.registry


@pytest.fixture
def dbsession(registry: Any) -> Iterator[Session]:
    """A session like a request's: joined to a transaction that is aborted after the test."""
    with rolled_back_session(registry) as session:
        yield session
