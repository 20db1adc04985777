"""The data directory and what Benben writes in it (the SQLite database and its -wal/-shm/-journal,
secret.key) are readable by Benben's user only: 0700 and 0600 under the usual umask 022."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from benben.db.engine import create_engine_from_settings
from benben.files import create_private_file


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def umask022() -> Iterator[None]:
    previous = os.umask(0o022)  # what would make files 0644 and directories 0755
    try:
        yield
    finally:
        os.umask(previous)


def embedded(data_dir: Path):
    return create_engine_from_settings(
        {"benben.database.url": "", "benben.data_dir": str(data_dir)}
    )


def test_the_embedded_database_its_wal_and_shm_and_directory_are_private(tmp_path):
    data_dir = tmp_path / "var"
    engine = embedded(data_dir)
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "benben.sqlite") == 0o600  # before anything connected
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
            assert mode(data_dir / "benben.sqlite-wal") == 0o600
            assert mode(data_dir / "benben.sqlite-shm") == 0o600
    finally:
        engine.dispose()
    assert {mode(p) for p in data_dir.iterdir()} == {0o600}  # what closing left behind


def test_sqlite_gives_a_rollback_journal_the_databases_mode(tmp_path):
    database = tmp_path / "plain.sqlite"
    create_private_file(str(database))
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=DELETE")
        connection.execute("BEGIN")
        connection.execute("CREATE TABLE t (x INTEGER)")
        assert mode(tmp_path / "plain.sqlite-journal") == 0o600
        connection.execute("COMMIT")
    finally:
        connection.close()


def test_an_older_open_data_directory_is_tightened(tmp_path, caplog):
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o755)
    for name in ("benben.sqlite", "benben.sqlite-wal", "benben.sqlite-shm"):
        (data_dir / name).write_bytes(b"")
        os.chmod(data_dir / name, 0o644)
    embedded(data_dir).dispose()
    assert mode(data_dir) == 0o700
    assert {p.name: mode(p) for p in data_dir.iterdir()} == {
        "benben.sqlite": 0o600, "benben.sqlite-wal": 0o600, "benben.sqlite-shm": 0o600
    }  # fmt: skip
    assert "made 0700" in caplog.text
    assert caplog.text.count("made 0600") == 3


def test_an_explicit_sqlite_url_gets_the_same_protection(tmp_path):
    database = tmp_path / "elsewhere" / "app.sqlite"
    engine = create_engine_from_settings({"benben.database.url": f"sqlite:///{database}"})
    engine.dispose()
    assert mode(database.parent) == 0o700
    assert mode(database) == 0o600


def test_the_apps_data_directory_holds_nothing_others_may_read(make_app, backends):
    # SQLite: the database and its companions; both backends: the generated secret.key.
    make_app({"benben.secret": ""}).get("/health/ready")
    data_dir = backends.tmp_path / "var"
    assert mode(data_dir) == 0o700
    files = {p.name: mode(p) for p in data_dir.iterdir() if not p.is_dir()}
    assert "secret.key" in files
    if backends.database == "sqlite":
        assert {"benben.sqlite", "benben.sqlite-wal", "benben.sqlite-shm"} <= set(files)
    assert set(files.values()) == {0o600}
    # The files plugin's local storage: its group may read it (a backup agent), others never.
    directories = {p.name: mode(p) for p in data_dir.iterdir() if p.is_dir()}
    assert set(directories) <= {"files"}
    assert all(not value & 0o007 for value in directories.values())
