"""`benben restore`: what it prints, its refusals as one line, --force."""

from __future__ import annotations

import pytest

from benben.testing import postgresql_schema, require_postgresql


def make_archive(cli, workdir, monkeypatch):
    monkeypatch.setenv("ALICE_PASSWORD", "correct horse battery staple")
    created = cli("users", "create", "alice", "--password-env", "ALICE_PASSWORD")
    assert created.code == 0, created.err
    made = cli("backup", "--output", str(workdir / "a.tar"), "--quiet")
    assert made.code == 0, made.err
    return workdir / "a.tar"


def test_restore_into_a_new_sqlite_database_then_refused_then_forced(cli, workdir, monkeypatch):
    archive = make_archive(cli, workdir, monkeypatch)
    (workdir / "other.ini").write_text(
        "[app:main]\nuse = egg:benben\nbenben.data_dir = %(here)s/other\n"
    )
    result = cli("restore", str(archive), "--ini", "other.ini", "--quiet")
    assert result.code == 0, result.err
    assert "rows: " in result.out
    assert f"database: sqlite:///{workdir / 'other' / 'benben.sqlite'}" in result.out
    again = cli("restore", str(archive), "--ini", "other.ini", "--quiet")
    assert again.code == 2
    assert again.err.splitlines()[-1].startswith(
        "benben: error: the target database is not empty (1 users"
    )
    assert cli("restore", str(archive), "--ini", "other.ini", "--force", "--quiet").code == 0


def test_a_missing_or_damaged_archive_is_one_line(cli, workdir):
    missing = cli("restore", str(workdir / "nope.tar"))
    assert missing.code == 2
    assert missing.err == f"benben: error: {workdir / 'nope.tar'}: no such file\n"
    (workdir / "junk.tar").write_text("not an archive\n" * 100)
    junk = cli("restore", str(workdir / "junk.tar"), "--quiet")
    assert junk.code == 1
    assert junk.err.splitlines()[-1] == (
        f"benben: error: {workdir / 'junk.tar'}: not a Benben archive (not a tar file)"
    )


@pytest.mark.postgresql
def test_sqlite_to_postgresql(cli, workdir, monkeypatch):
    archive = make_archive(cli, workdir, monkeypatch)
    with postgresql_schema(require_postgresql()) as url:
        monkeypatch.setenv("BENBEN_DATABASE_URL", url)
        result = cli("restore", str(archive))
        assert result.code == 0, result.err
        assert "benben_users: 1 row" in result.err  # progress, on stderr
        listed = cli("users", "list")
        assert "alice" in listed.out
