"""Migrations: each source its own version table, run in order, idempotent, serialised."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import inspect, text

from benben.db import MIGRATIONS_CURRENT_KEY, MIGRATIONS_KEY, get_engine, migration_sources
from benben.db.engine import create_engine_from_settings
from benben.db.migrations import MigrationSource, pending, upgrade

POSTGRESQL = pytest.mark.parametrize("backends", [("postgresql", "redis")], indirect=True)

REVISION = """
import time

import sqlalchemy as sa
from alembic import op

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    time.sleep({pause})  # lets concurrent upgrades overlap
    op.create_table({table!r}, sa.Column("id", sa.Integer, primary_key=True){extra})


def downgrade():
    op.drop_table({table!r})
"""


def write_revision(directory, revision, table, down=None, pause=0, extra=""):
    directory.mkdir(exist_ok=True)
    source = REVISION.format(revision=revision, down=down, table=table, pause=pause, extra=extra)
    (directory / f"{revision}_{table}.py").write_text(textwrap.dedent(source))


def source_in(directory, name):
    return MigrationSource(name, str(directory), f"benben_version_{name}")


@pytest.fixture
def engine(backends):
    engine = create_engine_from_settings({"benben.database.url": backends.database_url()})
    yield engine
    engine.dispose()


def version_of(engine, source):
    with engine.connect() as connection:
        return set(source.current(connection))


def test_upgrade_runs_sources_in_order_each_with_its_version_table(engine, tmp_path):
    write_revision(tmp_path / "shelves", "s1", "shelves")
    # books references shelves: it can only be created after the shelves source ran.
    fk = ', sa.Column("shelf_id", sa.Integer, sa.ForeignKey("shelves.id"))'
    write_revision(tmp_path / "books", "b1", "books", extra=fk)
    shelves, books = (
        source_in(tmp_path / "shelves", "shelves"),
        source_in(tmp_path / "books", "books"),
    )

    assert pending(engine, [shelves, books]) == ["shelves", "books"]
    results = upgrade(engine, [shelves, books])

    assert [(r.name, r.before, r.after, r.changed) for r in results] == [
        ("shelves", (), ("s1",), True),
        ("books", (), ("b1",), True),
    ]
    tables = set(inspect(engine).get_table_names())
    assert {"shelves", "books", "benben_version_shelves", "benben_version_books"} <= tables
    assert version_of(engine, shelves) == {"s1"}
    assert version_of(engine, books) == {"b1"}
    assert pending(engine, [shelves, books]) == []


def test_upgrade_is_idempotent_and_applies_only_new_revisions(engine, tmp_path):
    directory = tmp_path / "widgets"
    write_revision(directory, "w1", "widgets")
    source = source_in(directory, "widgets")
    upgrade(engine, [source])

    again = upgrade(engine, [source])
    assert [(r.before, r.after, r.changed) for r in again] == [(("w1",), ("w1",), False)]

    write_revision(directory, "w2", "gadgets", down="w1")
    assert pending(engine, [source]) == ["widgets"]
    (step,) = upgrade(engine, [source])
    assert (step.before, step.after) == (("w1",), ("w2",))
    assert {"widgets", "gadgets"} <= set(inspect(engine).get_table_names())


# Two `benben migrate` processes (or server workers) at once: PostgreSQL serialises them with an
# advisory lock, SQLite with a lock file. Processes, as alembic's `op` and `context` are
# process-wide proxies: concurrent upgrades only ever happen between processes.
UPGRADE_SCRIPT = """
import sys
from benben.db.engine import create_engine_from_settings
from benben.db.migrations import MigrationSource, upgrade
engine = create_engine_from_settings({"benben.database.url": sys.argv[1]})
(result,) = upgrade(engine, [MigrationSource("widgets", sys.argv[2], "benben_version_widgets")])
print("migrated" if result.changed else "unchanged")
"""


def test_alembic_is_quiet_unless_a_migration_runs(engine, tmp_path, caplog):
    directory = tmp_path / "notes"
    write_revision(directory, "n1", "notes")
    source = source_in(directory, "notes")
    caplog.set_level("INFO")

    upgrade(engine, [source])
    ran = [r.getMessage() for r in caplog.records if r.name.startswith(("alembic", "benben"))]
    assert ran == ["Running upgrade  -> n1", "migrated notes: (empty) -> ('n1',)"]

    caplog.clear()
    upgrade(engine, [source])  # every later start: nothing to run, nothing said
    pending(engine, [source])
    assert [r for r in caplog.records if r.name.startswith(("alembic", "benben"))] == []


def test_concurrent_upgrades_are_serialised(backends, engine, tmp_path):
    write_revision(tmp_path / "widgets", "w1", "widgets", pause=0.5)
    url, location = backends.database_url(), str(tmp_path / "widgets")
    command = [sys.executable, "-c", UPGRADE_SCRIPT, url, location]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    # Both succeeded; exactly one of them did the work.
    assert sorted(out.strip() for out, _err in outputs) == ["migrated", "unchanged"]
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT version_num FROM benben_version_widgets"))
        assert rows.scalars().all() == ["w1"]


def test_readiness_reports_migrations_behind_then_caches_up_to_date(
    make_app, tmp_path, monkeypatch, caplog
):
    write_revision(tmp_path / "widgets", "w1", "widgets")
    source = source_in(tmp_path / "widgets", "widgets")
    app = make_app(
        {"benben.database.auto_migrate": "false"},
        include=lambda config: config.registry[MIGRATIONS_KEY].append(source),
    )
    registry = app.app.registry
    # Core first, the bundled plugins' (webhooks) next, this test's own last.
    assert [s.name for s in migration_sources(registry)] == ["core", "files", "webhooks", "widgets"]

    response = app.get("/health/ready", status=503)
    check = response.json["checks"]["migrations"]
    assert check["status"] == "down"
    behind = pending(get_engine(registry), migration_sources(registry))
    assert "widgets" in behind
    assert check["reason"] == "failed"  # what is behind is logged, not shown to anyone
    message = f"schema behind for {', '.join(behind)} (run benben migrate)"
    assert message not in response.text
    assert f"readiness check migrations is down (failed): {message}" in caplog.messages

    upgrade(get_engine(registry), migration_sources(registry))
    assert app.get("/health/ready").json["checks"]["migrations"]["status"] == "up"
    assert registry[MIGRATIONS_CURRENT_KEY] is True

    def must_not_be_called(*args):
        raise AssertionError("the schema was checked again")

    monkeypatch.setattr("benben.db.pending", must_not_be_called)
    assert app.get("/health/ready").json["checks"]["migrations"]["status"] == "up"


def test_app_built_with_auto_migrate_is_ready(make_app, tmp_path):
    write_revision(tmp_path / "widgets", "w1", "widgets")
    source = source_in(tmp_path / "widgets", "widgets")
    app = make_app(include=lambda config: config.registry[MIGRATIONS_KEY].append(source))
    assert app.get("/health/ready").json["checks"]["migrations"]["status"] == "up"
    assert "widgets" in inspect(get_engine(app.app.registry)).get_table_names()
