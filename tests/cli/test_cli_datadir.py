"""One database, whatever directory a command runs in: the data directory benben serve uses is
recorded, and a command that would create a second, empty database elsewhere refuses (unless
--create), naming the existing one.  In-process, on the embedded SQLite default."""

from __future__ import annotations

import pytest

from benben.cli.datadir import record_data_dir, recorded_data_dir, state_file

PASSWORD = "correct horse battery staple"


@pytest.fixture
def two_places(workdir, monkeypatch):
    """``a`` holds the database benben serve uses; commands then run in ``b``."""
    for name, value in {
        "BENBEN_AUTH_ARGON2_TIME_COST": "1",
        "BENBEN_AUTH_ARGON2_MEMORY_COST": "64",
        "BENBEN_AUTH_ARGON2_PARALLELISM": "1",
        "PW": PASSWORD,
    }.items():
        monkeypatch.setenv(name, value)
    a, b = workdir / "a", workdir / "b"
    a.mkdir()
    b.mkdir()
    return a, b


def test_a_new_database_elsewhere_is_refused_then_created_with_create(cli, two_places, monkeypatch):
    a, b = two_places
    monkeypatch.chdir(a)
    first = cli("migrate")  # nothing recorded yet: the first database is created, and said so
    assert first.code == 0, first.err
    assert first.err == f"benben: creating a new database: SQLite {a / 'var' / 'benben.sqlite'}\n"
    assert recorded_data_dir() == a / "var"

    monkeypatch.chdir(b)
    refused = cli("users", "create", "--admin", "admin", "--password-env", "PW")
    assert refused.code == 2
    assert refused.err == (
        f"benben: error: no database in {b / 'var'}, and benben serve last used the one in "
        f"{a / 'var'}: run this command in {a} (or set BENBEN_DATA_DIR={a / 'var'}, or give "
        f"--ini), or add --create to create a new, empty database in {b / 'var'}\n"
    )
    assert not (b / "var" / "benben.sqlite").exists()
    assert cli("migrate").code == 2
    for command in (("data", "purge"), ("shell", "-c", "pass")):
        refused = cli(*command)  # no --create: making a database is never what they are for
        assert refused.code == 2, command
        assert "--create" not in refused.err
    assert not (b / "var" / "benben.sqlite").exists()

    # Pointed at the server's data directory, the command works there.
    monkeypatch.setenv("BENBEN_DATA_DIR", str(a / "var"))
    made = cli("users", "create", "--admin", "admin", "--password-env", "PW")
    assert made.code == 0, made.err
    assert made.err == f"benben: database: SQLite {a / 'var' / 'benben.sqlite'}\n"
    monkeypatch.delenv("BENBEN_DATA_DIR")

    # Asked for explicitly, a new database is made here; it is the one in use from now on.
    created = cli("users", "create", "bob", "--password-env", "PW", "--create")
    assert created.code == 0, created.err
    assert (b / "var" / "benben.sqlite").is_file()
    assert recorded_data_dir() == b / "var"
    assert "bob" in cli("users", "list").out
    assert "bob" not in cli("users", "list", "--ini", _ini(a)).out


def test_no_refusal_once_the_recorded_database_is_gone_or_unreadable(cli, two_places, monkeypatch):
    a, b = two_places
    record_data_dir(a / "var")  # a server once ran there; its database was since removed
    monkeypatch.chdir(b)
    assert cli("users", "list").code == 0
    assert recorded_data_dir() == b / "var"

    state_file().write_bytes(b"\xff not a path")
    assert recorded_data_dir() is None


def _ini(directory):
    path = directory / "app.ini"
    path.write_text(f"[app:main]\nuse = egg:benben\nbenben.data_dir = {directory / 'var'}\n")
    return str(path)
