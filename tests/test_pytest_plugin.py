"""benben.pytest_plugin, the benben_* fixtures every pytest run gets once Benben is installed:
proved by running plugin authors' test files in inner pytest sessions (pytester), which see
none of this suite's conftest or benben.testing's fixtures."""

from __future__ import annotations

import re
import textwrap

import pytest

from benben.testing_services import require_postgresql, require_redis

pytest_plugins = ["pytester"]

INNER = ("-p", "no:cacheprovider", "-W", "error", "-v")
# Plugins of this environment that inner sessions do not need: they cost a second at start-up.
UNRELATED = ("schemathesis", "hypothesispytest", "anyio", "xdist", "xdist.looponfail")


def run_apart(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An inner session in a process of its own, as a plugin author's: it imports Benben afresh
    (under -W error), which an inner session in this process cannot do twice (pytester drops
    the modules it imported: SQLAlchemy then warns of functions registered twice)."""
    unrelated = [arg for name in UNRELATED for arg in ("-p", f"no:{name}")]
    return pytester.runpytest_subprocess(*INNER, *unrelated, *args)


# A plugin as a module (its metadata declared as plugin authors do), with a setting, routes
# under its prefix, an administrators-only route, a task and a migration.
HELLO_PLUGIN = """
from pathlib import Path

from pyramid.authorization import Allow

from benben.plugin import (
    ADMIN_ROLE, PLUGIN_API_LEVEL, PluginMetadata, Setting, as_str, enqueue_task, plugin_settings,
)

benben_plugin = PluginMetadata(
    api=PLUGIN_API_LEVEL,
    settings=[Setting("benben.hello.greeting", as_str, "hello", "What /hi says.")],
)
PINGED = []


class AdminsOnly:
    __acl__ = [(Allow, ADMIN_ROLE, "hello.manage")]

    def __init__(self, request):
        self.request = request


def ping(ctx, value):
    PINGED.append(value)


def queue_ping(request):
    enqueue_task(request, "hello.ping", request.json_body["value"])
    return {"queued": True}


def includeme(config):
    greeting = plugin_settings(config)["greeting"]
    config.add_route("hello.hi", "/hi")
    config.add_view(lambda request: {"hi": greeting}, route_name="hello.hi", renderer="json")
    config.add_route("hello.secret", "/secret", factory=AdminsOnly)
    config.add_view(
        lambda request: {"secret": True}, route_name="hello.secret", renderer="json",
        permission="hello.manage",
    )
    config.add_route("hello.ping", "/ping")
    config.add_view(queue_ping, route_name="hello.ping", renderer="json", request_method="POST")
    config.add_task("hello.ping", ping)
    config.add_migrations(str(Path(__file__).parent / "hello_migrations"))
"""

HELLO_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "hello0001"
down_revision = None


def upgrade():
    op.create_table("hello_notes", sa.Column("id", sa.Integer, primary_key=True))
"""

# The plugin's conftest: the default app runs the plugin, with a setting of the plugin's own.
HELLO_CONFTEST = """
import pytest

import hello_plugin


@pytest.fixture
def benben_plugins():
    return {"hello": hello_plugin}


@pytest.fixture
def benben_settings(benben_settings):
    return {**benben_settings, "benben.hello.greeting": "from conftest"}
"""


@pytest.fixture(autouse=True)
def no_inherited_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner sessions inherit the environment: the developer's own BENBEN_TEST_DB stays out."""
    monkeypatch.delenv("BENBEN_TEST_DB", raising=False)


def outcomes(result: pytest.RunResult) -> dict[str, int]:
    return result.parseoutcomes()


def passed_ids(result: pytest.RunResult) -> list[str]:
    return sorted(re.findall(r"::(\S+) PASSED", result.stdout.str()))


def needs_servers() -> None:
    require_postgresql()
    require_redis()


def test_every_fixture_option_and_marker_is_prefixed(pytester: pytest.Pytester) -> None:
    fixtures = pytester.runpytest("--fixtures", *INNER).stdout.str()
    section = fixtures.split("fixtures defined from benben.pytest_plugin", 1)[1]
    section = section.split("\n---", 1)[0].split("\n===", 1)[0]
    names = set(re.findall(r"^(\w+)(?: \[\w+ scope\])? -- ", section, re.MULTILINE))
    assert names == {
        "benben_admin", "benben_app", "benben_backends", "benben_db", "benben_make_app",
        "benben_make_user", "benben_plugins", "benben_registry", "benben_run_tasks",
        "benben_session_backends", "benben_settings", "benben_settle", "benben_testapp",
        "benben_user",
    }  # fmt: skip
    # benben.testing (Benben's own suite's fixtures) stays opt-in: no app, registry...
    assert "benben.testing" not in fixtures.replace("benben.testing_", "")
    assert not re.search(r"^(app|registry|dbsession|isolated_state_home) ", fixtures, re.M)

    options = pytester.runpytest("--help").stdout.str()
    group = options.split("Benben's fixtures (benben_*):", 1)[1].split("\n\n", 1)[0]
    assert re.findall(r"^\s+(--[\w-]+)", group, re.MULTILINE) == ["--benben-db"]
    markers = pytester.runpytest("--markers").stdout.str()
    assert "@pytest.mark.benben_db(*databases)" in markers


APP_TESTS = """
import os


def test_app(benben_testapp, benben_backends, benben_registry, benben_db, tmp_path):
    assert benben_testapp.get("/api/v1/").status_code == 200
    assert benben_db.get_bind().dialect.name == benben_backends.database
    cache = {"sqlite": "memory", "postgresql": "redis"}[benben_backends.database]
    assert benben_registry.settings["benben.cache.backend"] == cache
    assert os.environ["XDG_STATE_HOME"] == str(tmp_path / "state")
    assert benben_registry.settings["benben.data_dir"] == str(tmp_path / "var")


def test_plain():
    pass


def test_backends(benben_backends):
    pass
"""


def test_app_tests_run_on_sqlite_by_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(APP_TESTS)
    result = run_apart(pytester)
    assert outcomes(result) == {"passed": 3}
    assert passed_ids(result) == ["test_app[sqlite]", "test_backends[sqlite]", "test_plain"]


def test_app_tests_run_on_each_database_chosen(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs_servers()
    pytester.makepyfile(APP_TESTS)
    result = run_apart(pytester, "--benben-db=all", "-k", "not backends")
    assert outcomes(result) == {"passed": 3, "deselected": 2}
    assert passed_ids(result) == ["test_app[postgresql]", "test_app[sqlite]", "test_plain"]

    monkeypatch.setenv("BENBEN_TEST_DB", "postgresql")  # the default, when no option is given
    result = run_apart(pytester, "-k", "backends")
    assert passed_ids(result) == ["test_backends[postgresql]"]
    result = run_apart(pytester, "-k", "backends", "--benben-db=sqlite")
    assert passed_ids(result) == ["test_backends[sqlite]"]
    monkeypatch.setenv("BENBEN_TEST_DB", "mysql")
    result = run_apart(pytester, "-k", "backends")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: BENBEN_TEST_DB='mysql': use sqlite, postgresql or all"])


def test_the_marker_names_a_tests_databases_whatever_the_option(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.benben_db("postgresql")
        def test_postgresql(benben_backends):
            assert benben_backends.database == "postgresql"


        @pytest.mark.benben_db("all")
        def test_both(benben_backends):
            pass


        @pytest.mark.benben_db("mysql")
        def test_misspelt(benben_backends):
            pass
        """
    )
    result = run_apart(pytester, "--benben-db=sqlite")
    expected = ["test_both[postgresql]", "test_both[sqlite]", "test_postgresql[postgresql]"]
    assert passed_ids(result) == expected
    assert outcomes(result) == {"passed": 3, "errors": 1}
    result.stdout.fnmatch_lines(
        ["@pytest.mark.benben_db('mysql'): name databases among sqlite, postgresql and all*"]
    )


def hello_project(pytester: pytest.Pytester, tests: str) -> None:
    pytester.makepyfile(hello_plugin=HELLO_PLUGIN, conftest=HELLO_CONFTEST, test_hello=tests)
    migrations = pytester.mkdir("hello_migrations")
    (migrations / "hello0001.py").write_text(textwrap.dedent(HELLO_MIGRATION))
    pytester.syspathinsert()


def test_inline_plugins_run_as_installed_ones(pytester: pytest.Pytester) -> None:
    hello_project(
        pytester,
        """
        import sys

        import pytest

        import hello_plugin


        def test_routes_settings_listing(benben_testapp, benben_make_app):
            assert benben_testapp.get("/hello/hi").json == {"hi": "from conftest"}
            plugins = {p["name"]: p for p in benben_testapp.get("/api/v1/").json["plugins"]}
            assert plugins["hello"]["status"] == "enabled"
            assert plugins["hello"]["url"] == "/hello"
            assert plugins["hello"]["distribution"] == "benben-inline-hello"
            assert {"console", "files", "webhooks"} <= set(plugins)  # installed ones too

            # A one-off function plugin, for one app only, and overrides over the conftest's.
            def bye(config):
                config.add_route("bye.it", "/it")
                config.add_view(lambda request: {"bye": 1}, route_name="bye.it", renderer="json")

            other = benben_make_app({"benben.hello.greeting": "override"}, plugins={"bye": bye})
            assert other.get("/bye/it").json == {"bye": 1}
            assert other.get("/hello/hi", status=404)
            assert benben_testapp.get("/bye/it", status=404)
            again = benben_make_app(
                {"benben.hello.greeting": "override"}, plugins={"hello": hello_plugin}
            )
            assert again.get("/hello/hi").json == {"hi": "override"}


        def test_inline_modules_are_gone_after_a_test():
            assert not [name for name in sys.modules if name.startswith("_benben_inline_")]


        @pytest.mark.parametrize("name", ["Hello", "api", "9lives"])
        def test_plugin_names_are_checked(benben_make_app, name):
            with pytest.raises(ValueError, match=f"inline plugin name {name!r}"):
                benben_make_app(plugins={name: hello_plugin.includeme})


        def test_users(benben_testapp, benben_admin, benben_user, benben_make_user):
            assert benben_testapp.get("/hello/secret", headers=benben_admin.headers).json == {
                "secret": True
            }
            benben_testapp.get("/hello/secret", headers=benben_user.headers, status=403)
            benben_testapp.get("/hello/secret", status=401)
            me = benben_testapp.get("/api/v1/auth/me", headers=benben_user.headers).json
            assert (me["user"]["id"], me["user"]["username"]) == (benben_user.id, "user")
            assert not benben_user.admin and me["roles"] == []
            assert benben_admin.admin and benben_admin.username == "admin"
            staff = benben_make_user(groups=["staff"])
            assert staff.username.startswith("user_")
            me = benben_testapp.get("/api/v1/auth/me", headers=staff.headers).json
            assert (me["user"]["id"], me["groups"]) == (staff.id, ["staff"])


        def test_tasks(benben_testapp, benben_admin, benben_run_tasks):
            benben_testapp.post_json("/hello/ping", {"value": 7}, headers=benben_admin.headers)
            assert hello_plugin.PINGED == []
            assert benben_run_tasks() == 1
            assert hello_plugin.PINGED == [7]
            assert benben_run_tasks() == 0
        """,
    )
    result = run_apart(pytester)
    assert outcomes(result) == {"passed": 7}, result.stdout.str()


def test_benben_db_is_rolled_back_after_each_test(pytester: pytest.Pytester) -> None:
    needs_servers()
    hello_project(
        pytester,
        """
        import pytest
        from sqlalchemy import text

        from benben.db import get_engine

        pytestmark = pytest.mark.benben_db("all")
        COUNT = text("SELECT count(*) FROM hello_notes")


        @pytest.fixture
        def rows_afterwards(benben_registry):
            yield
            # Torn down after benben_db (asked for after this fixture): its transaction ended.
            with get_engine(benben_registry).connect() as connection:
                assert connection.scalar(COUNT) == 0


        def test_write(rows_afterwards, benben_db, benben_registry):
            benben_db.execute(text("INSERT INTO hello_notes (id) VALUES (1)"))
            assert benben_db.scalar(COUNT) == 1
            with get_engine(benben_registry).connect() as connection:
                assert connection.scalar(COUNT) == 0  # not committed


        def test_next(benben_db):
            assert benben_db.scalar(COUNT) == 0


        def test_settle(benben_testapp, benben_admin, benben_settle):
            headers = benben_admin.headers
            benben_testapp.post_json("/api/v1/collections", {"id": "notes"}, headers=headers)
            benben_settle()
            events = benben_testapp.get("/api/v1/events", headers=headers).json["data"]
            assert "collection.created" in [event["type"] for event in events]
        """,
    )
    result = run_apart(pytester)
    assert outcomes(result) == {"passed": 6}, result.stdout.str()


@pytest.mark.parametrize(("ci", "outcome"), [("true", "errors"), ("", "skipped")])
def test_a_missing_postgresql_skips_or_fails_in_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str, outcome: str
) -> None:
    monkeypatch.setenv("BENBEN_TEST_POSTGRESQL_URL", "postgresql+psycopg://u@127.0.0.1:9/none")
    monkeypatch.setenv("CI", ci)
    pytester.makepyfile("def test_app(benben_testapp):\n    pass\n")
    result = run_apart(pytester, "-rfs", "--benben-db=postgresql")
    assert outcomes(result) == {outcome: 1}
    result.stdout.fnmatch_lines(["*PostgreSQL at postgresql+psycopg://u@127.0.0.1:9/none*"])


def test_a_project_not_using_the_fixtures_is_unaffected(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", "/the/developers/own")
    pytester.makepyfile(
        """
        import os
        import sys


        def test_plain():
            assert os.environ["XDG_STATE_HOME"] == "/the/developers/own"
            # Nothing of Benben's app is imported for it.
            assert not {"benben.config", "benben.testing_backends", "pyramid"} & set(sys.modules)
        """
    )
    # A fresh process: this one has imported everything already.
    with_plugin = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    without = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-W", "error", "-p", "no:benben"
    )
    assert outcomes(with_plugin) == outcomes(without) == {"passed": 1}
    assert "benben-" in with_plugin.stdout.str()  # it was loaded (pytest lists it)

    def shown(result: pytest.RunResult) -> list[str]:
        lines = [line for line in result.outlines if not line.startswith("plugins: ")]
        return [re.sub(r" in [\d.]+s", "", line) for line in lines]

    assert shown(with_plugin) == shown(without)
