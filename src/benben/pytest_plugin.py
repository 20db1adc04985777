"""Benben's pytest plugin, registered through the ``pytest11`` entry point ``benben``: the
``benben_*`` fixtures for plugin authors' tests (docs/plugin-api.md lists them).

Installing Benben loads it into every pytest run, so it changes nothing for a project that does
not use it: nothing is autouse, every name (fixtures, the ``--benben-db`` option, the
``benben_db`` marker) is prefixed, and Benben's modules are imported inside the fixtures, not
here.  (It only silences three import-time warnings of Benben's own dependencies, WebOb's and
Pyramid's, while conftests load and tests are collected: see ``_DEPENDENCY_WARNINGS``.)

Benben's own suite keeps its unprefixed fixtures (``pytest_plugins = ["benben.testing"]``); both
build apps on the same per-test resources (:mod:`benben.testing_backends`).

Databases: every test using ``benben_app`` (directly or through another fixture) runs once per
database chosen by ``--benben-db`` (``sqlite``, the default; ``postgresql``; ``all``; the
default from ``BENBEN_TEST_DB``), ids ``[sqlite]`` / ``[postgresql]``, with the in-process cache
on SQLite and Redis on PostgreSQL.  ``@pytest.mark.benben_db("postgresql")`` names the
databases of one test, whatever the option chose: a test that needs PostgreSQL still runs (or
skips, without a server) in a plain ``pytest``.
"""

from __future__ import annotations

import os
import re
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import webtest
    from sqlalchemy.orm import Session

    from benben.testing_backends import Backends, SessionBackends
    from benben.testing_inline import InlinePlugin

__all__ = ["CACHES", "DATABASES", "AppFactory", "BenbenTestUser", "chosen_databases"]

DATABASES = ("sqlite", "postgresql")
# The cache each database runs with: the embedded default's, and production's pair.
CACHES = {"sqlite": "memory", "postgresql": "redis"}
_CHOICES = (*DATABASES, "all")
_DEFAULT_ENV = "BENBEN_TEST_DB"


@dataclass(frozen=True)
class BenbenTestUser:
    """A user of the test's app, logged in: ``headers`` carry its access token."""

    id: str
    username: str
    password: str
    admin: bool
    headers: dict[str, str]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("benben", "Benben's fixtures (benben_*)")
    group.addoption(
        "--benben-db",
        choices=_CHOICES,
        default=None,
        help="databases the tests using Benben's app run on: sqlite (the default, or "
        f"${_DEFAULT_ENV}), postgresql or all",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "benben_db(*databases): run this test of Benben's app on these databases "
        "(sqlite, postgresql, all), whatever --benben-db chose",
    )
    value = os.environ.get(_DEFAULT_ENV)
    if value and value not in _CHOICES:
        raise pytest.UsageError(f"{_DEFAULT_ENV}={value!r}: use sqlite, postgresql or all")


def _expand(value: str) -> tuple[str, ...]:
    return DATABASES if value == "all" else (value,)


def chosen_databases(config: pytest.Config) -> tuple[str, ...]:
    """The databases ``--benben-db`` (else ``$BENBEN_TEST_DB``, else sqlite) chose."""
    # Both were checked before: argparse's choices, and pytest_configure.
    return _expand(config.getoption("benben_db", None) or os.environ.get(_DEFAULT_ENV) or "sqlite")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "benben_backends" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("benben_db")
    if marker is None:
        databases = chosen_databases(metafunc.config)
    else:
        wrong = [arg for arg in marker.args if arg not in _CHOICES]
        if not marker.args or marker.kwargs or wrong:
            # The test fails with why, rather than the whole collection (a hook's exception).
            problem = _MarkerProblem(
                f"@pytest.mark.benben_db{_call(marker)}: name databases among sqlite, "
                "postgresql and all, e.g. benben_db('postgresql')"
            )
            metafunc.parametrize("benben_backends", [problem], indirect=True, ids=["benben_db?"])
            return
        named = {database for arg in marker.args for database in _expand(arg)}
        databases = tuple(database for database in DATABASES if database in named)
    metafunc.parametrize("benben_backends", databases, indirect=True, ids=databases)


# Import-time warnings of Benben's dependencies (see benben.testing): WebOb 1.8 imports the
# stdlib `cgi`; Pyramid 2.1 imports pkg_resources, which then warns about PasteDeploy's namespace.
# A plugin's conftest or test module meets them when it imports benben.plugin, and under
# `-W error` they would fail its collection: pytest puts command-line filters over the ini's, so
# only filters added inside its own (these wrappers, trylast, and the fixtures) silence them.
_DEPENDENCY_WARNINGS: tuple[tuple[str, type[Warning], str], ...] = (
    ("'cgi' is deprecated", DeprecationWarning, r"webob\.compat"),
    ("pkg_resources is deprecated", Warning, ""),
    ("Deprecated call to `pkg_resources.declare_namespace", DeprecationWarning, ""),
)


@contextmanager
def _dependency_warnings_ignored() -> Iterator[None]:
    with warnings.catch_warnings():
        for message, category, module in _DEPENDENCY_WARNINGS:
            warnings.filterwarnings("ignore", re.escape(message), category, module)
        yield


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_load_initial_conftests() -> Iterator[None]:
    with _dependency_warnings_ignored():
        return (yield)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_collection() -> Iterator[None]:
    with _dependency_warnings_ignored():
        return (yield)


class _MarkerProblem(str):
    """A ``benben_db`` marker's mistake, the parameter its test fails with."""


def _call(marker: pytest.Mark) -> str:
    arguments = [repr(arg) for arg in marker.args]
    arguments += [f"{key}={value!r}" for key, value in marker.kwargs.items()]
    return f"({', '.join(arguments)})"


def _quiet_imports() -> None:
    with _dependency_warnings_ignored():
        import pyramid.asset  # noqa: F401
        import webob.compat  # noqa: F401


@pytest.fixture(scope="session")
def benben_session_backends(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SessionBackends]:
    """What the session's (an xdist worker's) app tests share: migrated template databases."""
    _quiet_imports()
    from benben.testing_backends import SessionBackends

    shared = SessionBackends(tmp_path_factory.mktemp("benben-templates"))
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def benben_backends(
    request: pytest.FixtureRequest,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    benben_session_backends: SessionBackends,
) -> Iterator[Backends]:
    """This run's database (``.database``: sqlite or postgresql) and cache, and the test's own
    data directory, PostgreSQL schema and Redis prefix, removed afterwards."""
    from benben.testing_backends import Backends

    database = getattr(request, "param", None) or chosen_databases(request.config)[0]
    if isinstance(database, _MarkerProblem):
        pytest.fail(database, pytrace=False)
    # What Benben records under XDG_STATE_HOME (benben serve's data directory) stays the test's.
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    resources = Backends(database, CACHES[database], tmp_path, benben_session_backends)
    try:
        yield resources
    finally:
        resources.close()


@pytest.fixture
def benben_settings(benben_backends: Backends) -> dict[str, Any]:
    """The apps' settings; a conftest overriding this fixture adds the plugin's own."""
    return benben_backends.settings()


class AppFactory:
    """``benben_make_app``: builds migrated apps on the test's backends and remembers them (for
    ``benben_run_tasks`` and ``benben_settle``)."""

    def __init__(self, backends: Backends, settings: Mapping[str, Any]) -> None:
        from benben.testing_inline import InlinePlugins

        self.backends = backends
        self.settings = settings
        self.registries: list[Any] = []
        self._inline = InlinePlugins()

    def __call__(
        self,
        overrides: Mapping[str, Any] | None = None,
        *,
        plugins: Mapping[str, InlinePlugin] | None = None,
        include: Callable[[Any], None] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> webtest.TestApp:
        """Another app: ``overrides`` on ``benben_settings``; ``plugins`` registered for it
        alone (name -> includeme or module), next to every installed plugin; ``include`` given
        the Configurator afterwards (test-only routes); ``environ`` as ``BENBEN_*`` variables
        (none by default: the developer's own never leak in)."""
        import webtest

        from benben.config import configure, should_auto_migrate
        from benben.router import make_router

        entry_points = [
            *self.backends.shared.plugin_entry_points(),
            *self._inline.entry_points(plugins or {}),
        ]
        config = configure(
            {**self.settings, **(overrides or {})},
            environ={} if environ is None else environ,
            entry_points=entry_points,
        )
        self.backends.track(config.registry)
        self.registries.append(config.registry)
        if include is not None:
            include(config)
            config.commit()
        if should_auto_migrate(config.registry.settings):
            self.backends.migrate(config.registry)
        return webtest.TestApp(make_router(config))

    def close(self) -> None:
        self._inline.close()


@pytest.fixture
def benben_make_app(
    benben_backends: Backends, benben_settings: dict[str, Any]
) -> Iterator[AppFactory]:
    """``benben_make_app(overrides=None, *, plugins=None, include=None)``: another app."""
    factory = AppFactory(benben_backends, benben_settings)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def benben_plugins() -> Mapping[str, InlinePlugin]:
    """Inline plugins of the default app (none): a conftest overriding this fixture with
    ``{"hello": includeme}`` gives every fixture below an app running them."""
    return {}


@pytest.fixture
def benben_testapp(
    benben_make_app: AppFactory, benben_plugins: Mapping[str, InlinePlugin]
) -> webtest.TestApp:
    """A ``webtest.TestApp`` of the default app: every installed plugin enabled (and
    ``benben_plugins``), migrated."""
    return benben_make_app(plugins=benben_plugins)


@pytest.fixture
def benben_app(benben_testapp: webtest.TestApp) -> Any:
    """The default app's WSGI application (its ``.registry``)."""
    return benben_testapp.app


@pytest.fixture
def benben_registry(benben_app: Any) -> Any:
    """The default app's Pyramid registry."""
    return benben_app.registry


@pytest.fixture
def benben_db(benben_registry: Any) -> Iterator[Session]:
    """A session like a request's ``dbsession``, its transaction aborted after the test."""
    from benben.testing_sessions import rolled_back_session

    with rolled_back_session(benben_registry) as session:
        yield session


@pytest.fixture
def benben_make_user(benben_testapp: webtest.TestApp) -> Callable[..., BenbenTestUser]:
    """``benben_make_user(username=None, *, admin=False, groups=(), password=...)``: a new
    active user of the default app (groups created as needed), logged in."""
    from benben.testing_auth import DEFAULT_PASSWORD, add_user, bearer, login

    registry = benben_testapp.app.registry

    def factory(
        username: str | None = None,
        *,
        admin: bool = False,
        groups: tuple[str, ...] | list[str] = (),
        password: str = DEFAULT_PASSWORD,
    ) -> BenbenTestUser:
        name = (username or f"user_{uuid.uuid4().hex[:8]}").lower()
        user_id = add_user(registry, name, password, is_admin=admin, groups=list(groups))
        token = login(benben_testapp, name, password)["access_token"]
        return BenbenTestUser(user_id, name, password, admin, bearer(token))

    return factory


@pytest.fixture
def benben_admin(benben_make_user: Callable[..., BenbenTestUser]) -> BenbenTestUser:
    """An administrator of the default app (``admin``), logged in."""
    return benben_make_user("admin", admin=True)


@pytest.fixture
def benben_user(benben_make_user: Callable[..., BenbenTestUser]) -> BenbenTestUser:
    """A plain active user of the default app (``user``), logged in."""
    return benben_make_user("user")


@pytest.fixture
def benben_run_tasks(benben_make_app: AppFactory) -> Callable[[], int]:
    """``benben_run_tasks()``: run the background tasks the test's apps queued so far (and those
    they queue), in this thread; how many ran.  A task that raises fails the test."""
    from benben.worker.embedded import run_queued_tasks

    def run() -> int:
        return sum(run_queued_tasks(registry) for registry in benben_make_app.registries)

    return run


@pytest.fixture
def benben_settle(benben_make_app: AppFactory) -> Callable[[], None]:
    """``benben_settle()``: wait until the change feed shows every committed event (PostgreSQL's
    horizon, which other tests' open transactions hold back a moment; SQLite: at once)."""
    from benben.testing_feed import feed_settled

    def settle() -> None:
        for registry in benben_make_app.registries:
            feed_settled(registry)

    return settle
