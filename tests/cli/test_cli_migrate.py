"""`benben migrate` on SQLite and PostgreSQL: every source in order, and --status."""

from __future__ import annotations

import pytest
from cli_support import unique_name, write_plugin
from sqlalchemy import create_engine, inspect

from benben.db.migrations import MigrationSource, resolve_location
from benben.testing import postgresql_schema, require_postgresql


def core_head() -> str:
    """Core's head revision(s) as `benben migrate` prints them ("none" while core has none)."""
    source = MigrationSource("core", resolve_location("benben.db:versions"), "unused")
    return ", ".join(sorted(source.heads())) or "none"


def core_first_migration() -> str:
    head = core_head()
    return "core: up to date (none)" if head == "none" else f"core: none -> {head}"


def webhooks_head() -> str:
    """The bundled webhooks plugin's head revision: its migrations run after core's."""
    source = MigrationSource("webhooks", resolve_location("benben_webhooks:migrations"), "unused")
    return ", ".join(sorted(source.heads()))


def files_head() -> str:
    """The bundled files plugin's head revision."""
    source = MigrationSource("files", resolve_location("benben_files:migrations"), "unused")
    return ", ".join(sorted(source.heads()))


def migrate_twice_and_check(cli, plugin: str, revision: str) -> None:
    before = cli("migrate", "--status")
    assert before.code == 1, before.err
    assert f"{plugin}: at none, head {revision}: BEHIND (run benben migrate)\n" in before.out

    first = cli("migrate")
    assert first.code == 0, first.err
    lines = first.out.splitlines()[1:]  # after "database: ..."
    # Core first; then the plugins, in their include order (by name, requirements first).
    assert lines[0] == core_first_migration()
    assert sorted(lines[1:]) == sorted(
        [
            f"files: none -> {files_head()}",
            f"webhooks: none -> {webhooks_head()}",
            f"{plugin}: none -> {revision}",
        ]
    )

    second = cli("migrate")
    assert second.code == 0
    again = second.out.splitlines()[1:]
    assert again[0] == f"core: up to date ({core_head()})"
    assert sorted(again[1:]) == sorted(
        [
            f"files: up to date ({files_head()})",
            f"webhooks: up to date ({webhooks_head()})",
            f"{plugin}: up to date ({revision})",
        ]
    )

    status = cli("migrate", "--status")
    assert status.code == 0, status.err
    assert f"{plugin}: at {revision}, head {revision}: up to date\n" in status.out
    assert f"core: at {core_head()}, head {core_head()}: up to date\n" in status.out


def test_migrate_sqlite_then_status_is_up_to_date(cli, workdir, plugin_site):
    plugin = unique_name()
    revision = write_plugin(plugin_site, plugin, migration=True)

    migrate_twice_and_check(cli, plugin, revision)

    database = workdir / "var" / "benben.sqlite"
    engine = create_engine(f"sqlite:///{database}")
    try:
        assert f"{plugin}_things" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_migrate_uses_the_ini_database(cli, workdir, plugin_site):
    plugin = unique_name()
    revision = write_plugin(plugin_site, plugin, migration=True)
    (workdir / "app.ini").write_text(
        "[app:main]\nuse = egg:benben\nbenben.data_dir = %(here)s/data\n"
    )
    result = cli("migrate", "--ini", "app.ini")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == (
        f"database: sqlite:///{workdir / 'data' / 'benben.sqlite'}"
    )
    assert f"{plugin}: none -> {revision}" in result.out
    assert not (workdir / "var").exists()


@pytest.mark.postgresql
def test_migrate_postgresql_then_status_is_up_to_date(cli, plugin_site, monkeypatch):
    base = require_postgresql()
    plugin = unique_name()
    revision = write_plugin(plugin_site, plugin, migration=True)
    with postgresql_schema(base) as url:
        monkeypatch.setenv("BENBEN_DATABASE_URL", url)
        migrate_twice_and_check(cli, plugin, revision)

        engine = create_engine(url)
        try:
            assert f"{plugin}_things" in inspect(engine).get_table_names()
        finally:
            engine.dispose()


def test_migrate_reports_core_first(cli):
    result = cli("migrate")
    assert result.code == 0
    assert result.out.splitlines()[1] == core_first_migration()


def test_unreachable_database_is_a_one_line_error(cli, monkeypatch):
    monkeypatch.setenv("BENBEN_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("BENBEN_DATABASE_CONNECT_TIMEOUT", "1")
    result = cli("migrate", "--status")
    assert result.code == 1
    assert result.err.startswith("benben: error: database: ")
    assert len(result.err.splitlines()) == 1
