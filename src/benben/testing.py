"""pytest fixtures for Benben's tests and plugin authors: ``pytest_plugins = ["benben.testing"]``.

Backends: every test that uses ``app`` runs twice, on the embedded default (SQLite + in-process
cache) and on the production pair (PostgreSQL + Redis).  The servers are found at
``BENBEN_TEST_POSTGRESQL_URL`` / ``BENBEN_TEST_REDIS_URL`` (defaults: local servers).  A missing
server skips its tests locally; with ``CI=true`` it fails them, as CI must test every backend.

Isolation: each test gets its own data directory, its own PostgreSQL schema (dropped afterwards)
and its own Redis key prefix (deleted afterwards), so tests can run in any order and in parallel.
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

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import pytest
import transaction
import webtest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

# Fixtures for code behind authentication, so that `pytest_plugins = ["benben.testing"]` is all
# a plugin author needs.
from benben.testing_auth import auth_headers, create_user

__all__ = [
    "BACKENDS",
    "Backends",
    "auth_headers",
    "create_user",
    "eventually",
    "in_ci",
    "isolated_state_home",
    "postgresql_url",
    "redis_url",
    "require_postgresql",
    "require_redis",
    "unavailable",
]

T = TypeVar("T")

DEFAULT_POSTGRESQL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

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


def postgresql_url() -> str:
    return os.environ.get("BENBEN_TEST_POSTGRESQL_URL", DEFAULT_POSTGRESQL_URL)


def redis_url() -> str:
    return os.environ.get("BENBEN_TEST_REDIS_URL", DEFAULT_REDIS_URL)


def in_ci() -> bool:
    """Whether this is CI (``CI=true``), which must run every test: nothing may skip there."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(message: str) -> None:
    """Skip the test for a missing service or tool; fail it under ``CI=true``."""
    if in_ci():
        pytest.fail(f"{message}: CI must run every test", pytrace=False)
    pytest.skip(message)


def _unavailable(what: str, reason: str) -> None:
    unavailable(f"{what} is not available ({reason})")


_probe_results: dict[str, str | None] = {}


def _probe(name: str, check: Callable[[], None]) -> str | None:
    if name not in _probe_results:
        try:
            check()
            _probe_results[name] = None
        except Exception as exc:
            _probe_results[name] = f"{type(exc).__name__}: {exc}"
    return _probe_results[name]


def require_postgresql() -> str:
    """The PostgreSQL URL, or skip (fail in CI) when the server is not reachable."""
    url = postgresql_url()

    def check() -> None:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        finally:
            engine.dispose()

    problem = _probe("postgresql", check)
    if problem:
        _unavailable(f"PostgreSQL at {url}", problem)
    return url


def require_redis() -> str:
    """The Redis URL, or skip (fail in CI) when the server is not reachable."""
    url = redis_url()

    def check() -> None:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=3)
        try:
            client.ping()
        finally:
            client.close()

    problem = _probe("redis", check)
    if problem:
        _unavailable(f"Redis at {url}", problem)
    return url


class Backends:
    """Per-test resources on a backend pair, cleaned up by :meth:`close`."""

    def __init__(self, database: str, cache: str, tmp_path: Any) -> None:
        self.database = database
        self.cache = cache
        self.tmp_path = tmp_path
        self.schema: str | None = None
        self.cache_prefix = f"benben-test-{uuid.uuid4().hex[:12]}:"
        self._apps: list[Any] = []

    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "benben.data_dir": str(self.tmp_path / "var"),
            "benben.cache.backend": self.cache,
            "benben.cache.prefix": self.cache_prefix,
            "benben.database.auto_migrate": "true",
        }
        if self.database == "postgresql":
            settings["benben.database.url"] = self.database_url()
        if self.cache == "redis":
            settings["benben.cache.url"] = require_redis()
        return settings

    def database_url(self) -> str:
        if self.database != "postgresql":
            return "sqlite:///" + str(self.tmp_path / "var" / "benben.sqlite")
        base = require_postgresql()
        if self.schema is None:
            self.schema = f"test_{uuid.uuid4().hex[:16]}"
            engine = create_engine(base)
            with engine.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            engine.dispose()
        url = make_url(base)
        return url.update_query_dict({"options": f"-csearch_path={self.schema}"}).render_as_string(
            hide_password=False
        )

    def track(self, app: Any) -> None:
        self._apps.append(app)

    def close(self) -> None:
        for registry in self._apps:
            for key in ("benben.db.engine", "benben.db.replica_engine"):
                engine = registry.get(key)
                if engine is not None:
                    engine.dispose()
            versions = registry.get("benben.cache.versions")
            if versions is not None:
                versions.close()  # its Redis subscription thread, when one started
        if self.schema is not None:
            engine = create_engine(postgresql_url())
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            engine.dispose()
        if self.cache == "redis":
            import redis

            client = redis.Redis.from_url(redis_url())
            with contextlib.closing(client):
                keys = list(client.scan_iter(match=self.cache_prefix + "*", count=1000))
                if keys:
                    client.delete(*keys)


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
def backends(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Backends]:
    """The backend pair of this test run; cleaned up afterwards."""
    database, cache = request.param
    resources = Backends(database, cache, tmp_path)
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
    from benben.db import get_engine, migration_sources
    from benben.db.migrations import upgrade
    from benben.router import make_router

    def factory(
        overrides: Mapping[str, Any] | None = None,
        *,
        include: Callable[[Any], None] | None = None,
        **kwargs: Any,
    ) -> webtest.TestApp:
        kwargs.setdefault("environ", {})
        config = configure({**app_settings, **(overrides or {})}, **kwargs)
        backends.track(config.registry)
        if include is not None:
            include(config)
            config.commit()
        if should_auto_migrate(config.registry.settings):
            upgrade(get_engine(config.registry), migration_sources(config.registry))
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
    from benben.db import SESSION_FACTORY_KEY, get_tm_session

    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    session = get_tm_session(registry[SESSION_FACTORY_KEY], manager)
    try:
        yield session
    finally:
        manager.abort()
        session.close()
