"""`benben backup` on the embedded default and on PostgreSQL: where the archive went and its
figures on stdout, plain progress lines on stderr off a terminal, retention, refusals."""

from __future__ import annotations

import re
import tarfile

import pytest

from benben.testing import postgresql_schema, require_postgresql


def archive_of(out: str) -> str:
    match = re.search(r"^archive: (.+)$", out, re.MULTILINE)
    assert match, out
    return match.group(1)


def check_report(result) -> None:
    lines = result.out.splitlines()
    assert lines[0].startswith("archive: ")
    assert re.fullmatch(r"size: [\d.]+ kB \([\d,]+ bytes\)", lines[1])
    assert re.fullmatch(r"rows: 1 in \d+ tables", lines[2])  # the auth epoch's row
    assert lines[3] == "files: 0"
    assert re.fullmatch(r"time: \d+\.\d s", lines[4])
    # Off a terminal: one plain line per table, no bar.
    assert re.search(r"^benben_users: 0 rows in \d+\.\d s \(", result.err, re.MULTILINE)
    assert "\r" not in result.err


def test_backup_to_the_backups_directory(cli, workdir):
    assert cli("migrate").code == 0
    result = cli("backup")
    assert result.code == 0, result.err
    check_report(result)
    archive = archive_of(result.out)
    assert re.fullmatch(
        re.escape(str(workdir / "var" / "backups")) + r"/benben-backup-\d{8}T\d{12}Z\.tar",
        archive,
    )
    with tarfile.open(archive) as tar:
        assert tar.getnames()[0] == "manifest.json"


def test_quiet_keeps_stdout_and_drops_progress(cli, workdir):
    assert cli("migrate").code == 0
    result = cli("backup", "--quiet", "--output", str(workdir / "x.tar"))
    assert result.code == 0, result.err
    assert archive_of(result.out) == str(workdir / "x.tar")
    assert "rows in" not in result.err


def test_keep_daily_deletes_older_archives_of_the_target(cli, workdir):
    assert cli("migrate").code == 0
    backups = workdir / "b"
    backups.mkdir()
    old = ["benben-backup-20200101T000000000000Z.tar", "benben-backup-20200102T000000000000Z.tar"]
    for name in [*old, "keep.txt"]:
        (backups / name).write_bytes(b"x")
    result = cli("backup", "--output", str(backups), "--keep-daily", "2", "--keep-weekly", "0")
    assert result.code == 0, result.err
    assert f"deleted (retention): {old[0]}" in result.out
    remaining = sorted(p.name for p in backups.iterdir())
    assert remaining[:1] == [old[1]]  # the newest of the day before
    assert "keep.txt" in remaining
    assert len(remaining) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output", "nowhere"], "nowhere: neither an existing directory nor a file name"),
        (["--keep-weekly", "2"], "--keep-weekly goes with --keep-daily"),
        (["--keep-daily", "-1"], "must be 0 or more"),
        (["--keep-daily", "x"], "not a whole number"),
    ],
)
def test_bad_input_is_a_usage_error(cli, workdir, args, message):
    assert cli("migrate").code == 0
    result = cli("backup", *args)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err
    assert not (workdir / "var" / "backups").exists() or not any(
        (workdir / "var" / "backups").iterdir()
    )


def test_without_a_database_there_is_nothing_to_back_up(cli, workdir):
    result = cli("backup")
    assert result.code == 2
    assert f"benben: error: no database in {workdir / 'var'}: nothing to back up" in result.err
    assert not (workdir / "var" / "benben.sqlite").exists()


def test_a_database_behind_its_migrations_is_refused(cli, workdir, monkeypatch):
    from benben.db.migrations import MigrationSource

    assert cli("migrate").code == 0
    monkeypatch.setattr(MigrationSource, "heads", lambda source: {"newer"})
    result = cli("backup")
    assert result.code == 1
    assert "benben: error: the database schema is behind for core" in result.err
    assert "run benben migrate first" in result.err
    assert list((workdir / "var" / "backups").iterdir()) == []


def test_backup_of_postgresql(cli, workdir, monkeypatch):
    base = require_postgresql()
    with postgresql_schema(base) as url:
        monkeypatch.setenv("BENBEN_DATABASE_URL", url)
        assert cli("migrate").code == 0
        result = cli("backup", "--output", str(workdir) + "/")
    assert result.code == 0, result.err
    check_report(result)
    assert archive_of(result.out).startswith(str(workdir) + "/benben-backup-")


def test_verify_of_a_missing_archive_is_an_error(cli, workdir):
    result = cli("backup", "verify", str(workdir / "none.tar"))
    assert result.code == 2
    assert "none.tar: no such file" in result.err
