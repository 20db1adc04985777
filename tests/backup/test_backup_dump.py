"""create_backup on SQLite and PostgreSQL: the archive's layout as the format says, determinism,
participants' files checked while copied, refusals that leave nothing behind."""

from __future__ import annotations

import datetime
import gzip
import hashlib
import io
import json
import tarfile

import pytest
from dump_support import (
    WHEN,
    FakeFiles,
    file_of,
    manifest,
    read_archive,
    seed,
    with_participant,
)

from benben.backup.dump import create_backup
from benben.backup.format import FORMAT, FORMAT_VERSION, table_member
from benben.backup.participants import BackupParticipant, backup_participants
from benben.backup.progress import make_progress
from benben.backup.targets import BackupError
from benben.db import get_engine, migration_sources
from benben.db.migrations import MigrationSource
from benben.version import __version__

NOW = datetime.datetime(2026, 12, 7, 19, 0, tzinfo=datetime.UTC)


def expected_member_order(participants, files=None) -> list[str]:
    """Tables in participant then table order, then each participant's index and files
    (``files``: the names each participant has, none by default)."""
    names = ["manifest.json"]
    for participant in participants:
        names += [table_member(table.name) for table in participant.tables]
    for participant in participants:
        if participant.files is not None:
            names.append(f"files/{participant.name}/index.jsonl.gz")
            names += [
                f"files/{participant.name}/{name}"
                for name in (files or {}).get(participant.name, [])
            ]
    return names


def test_the_archive_is_laid_out_as_the_format_says(registry, out):
    seed(registry)
    result = create_backup(registry, str(out / "out.tar"), now=NOW)

    assert result.location == str(out / "out.tar")
    assert result.size == (out / "out.tar").stat().st_size
    assert (out / "out.tar").stat().st_mode & 0o777 == 0o600
    members = read_archive(result.location)
    assert list(members) == expected_member_order(backup_participants(registry))
    for member in members.values():
        info = member.info
        assert (info.mtime, info.mode, info.uid, info.gid) == (0, 0o600, 0, 0)
        assert (info.uname, info.gname, info.type) == ("", "", tarfile.REGTYPE)

    data = manifest(result.location)
    raw = members["manifest.json"].data
    assert raw == json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False).encode()
    assert data["format"] == FORMAT
    assert data["format_version"] == FORMAT_VERSION
    assert data["created_at"] == "2026-12-07T19:00:00.000000Z"
    assert data["benben_version"] == __version__
    assert data["migrations"] == {
        source.name: sorted(source.heads()) for source in migration_sources(registry)
    }
    assert data["participants"][0]["name"] == "core"
    assert data["participants"][0]["version"] == __version__
    # Every member but the manifest, with its size and digest.
    assert set(data["members"]) == set(members) - {"manifest.json"}
    for name, facts in data["members"].items():
        assert facts == {
            "size": len(members[name].data),
            "sha256": hashlib.sha256(members[name].data).hexdigest(),
        }
    tables = {table["name"]: table for p in data["participants"] for table in p["tables"]}
    assert result.tables == len(tables)
    assert result.rows == sum(table["rows"] for table in tables.values())
    users = tables["benben_users"]
    assert users["member"] == "tables/benben_users.jsonl.gz"
    assert users["primary_key"] == ["id"]
    assert users["rows"] == 4
    assert users["sequence"] is None
    assert {"name": "email", "type": "string", "nullable": True} in users["columns"]
    assert {"name": "is_admin", "type": "boolean", "nullable": False} in users["columns"]
    assert {"name": "created_at", "type": "datetime_tz", "nullable": False} in users["columns"]
    # benben_history auto-increments: the highest id handed out.
    assert tables["benben_history"]["sequence"] == {"column": "id", "value": 3}
    assert tables["benben_events"]["sequence"] == {"column": "id", "value": 3}
    # PostgreSQL's derived column is left out.
    assert "search_vector" not in [c["name"] for c in tables["benben_records"]["columns"]]


def test_rows_are_in_key_order_in_bytes_with_values_encoded(registry, out):
    seed(registry)
    result = create_backup(registry, str(out / "out.tar"), now=NOW)
    members = read_archive(result.location)
    data = manifest(result.location)
    tables = {table["name"]: table for p in data["participants"] for table in p["tables"]}

    collections = members["tables/benben_collections.jsonl.gz"].lines()
    assert [row[0] for row in collections] == ["B", "a", "b", "é"]  # byte order, not locale's

    columns = [c["name"] for c in tables["benben_users"]["columns"]]
    users = [
        dict(zip(columns, row, strict=True))
        for row in members["tables/benben_users.jsonl.gz"].lines()
    ]
    assert [user["username"] for user in users] == ["zoé", "Bob", "alice", "_x"]  # by id
    assert users[0]["display_name"] == "Ünïcode zoé ✓"
    assert users[1]["sessions_valid_after"] == "2026-03-04T05:06:07.890123Z"
    assert users[0]["created_at"] == "2026-03-04T05:06:07.890123Z"
    assert users[0]["is_admin"] is True
    assert users[1]["is_admin"] is False
    assert users[0]["email"] is None

    columns = [c["name"] for c in tables["benben_records"]["columns"]]
    records = [
        dict(zip(columns, row, strict=True))
        for row in members["tables/benben_records.jsonl.gz"].lines()
    ]
    assert [(r["collection_id"], r["id"]) for r in records] == [
        ("a", "R1"),
        ("a", "r10"),
        ("a", "r2"),
        ("b", "R1"),
        ("b", "r10"),
        ("b", "r2"),
    ]
    assert records[0]["data"] == {
        "n": 1.5,
        "z": "日本語 \u2028",
        "a": [1, None, True],
        "nested": {"y": 1, "b": 2},
    }
    raw = gzip.decompress(members["tables/benben_records.jsonl.gz"].data).decode()
    assert '"nested":{"b":2,"y":1}' in raw  # keys sorted, compact, UTF-8 as is
    assert "日本語" in raw

    # The feed's transaction ids are archived as 0 whatever the database wrote.
    columns = [c["name"] for c in tables["benben_events"]["columns"]]
    events = [
        dict(zip(columns, row, strict=True))
        for row in members["tables/benben_events.jsonl.gz"].lines()
    ]
    assert [event["tx"] for event in events] == [0, 0, 0]
    assert [event["id"] for event in events] == [1, 2, 3]


def test_two_backups_of_the_same_data_differ_in_created_at_only(registry, out):
    seed(registry)
    first = create_backup(registry, str(out / "one.tar"), now=NOW)
    again = create_backup(registry, str(out / "two.tar"), now=NOW)
    later = create_backup(registry, str(out / "three.tar"), now=NOW + datetime.timedelta(1))

    one = (out / "one.tar").read_bytes()
    assert one == (out / "two.tar").read_bytes()
    a, c = read_archive(first.location), read_archive(later.location)
    assert list(a) == list(c)
    for name in a:
        if name != "manifest.json":
            assert a[name].data == c[name].data, name
    assert {**first.manifest, "created_at": None} == {**later.manifest, "created_at": None}
    assert again.manifest == first.manifest


def test_participants_files_follow_their_index(registry, out, monkeypatch):
    files = FakeFiles([file_of("b.bin", b"\x00" * 10), file_of("a.txt", b"hello world")])
    participants = with_participant(
        monkeypatch, BackupParticipant("extra", (), files, version="2.0")
    )

    result = create_backup(registry, str(out / "out.tar"), now=NOW)

    assert result.files == 2
    members = read_archive(result.location)
    assert list(members) == expected_member_order(
        participants(registry), {"extra": ["a.txt", "b.bin"]}
    )
    assert members["files/extra/index.jsonl.gz"].lines() == [
        ["a.txt", 11, hashlib.sha256(b"hello world").hexdigest()],
        ["b.bin", 10, hashlib.sha256(b"\x00" * 10).hexdigest()],
    ]
    assert members["files/extra/a.txt"].data == b"hello world"
    assert members["files/extra/b.bin"].data == b"\x00" * 10
    extra = result.manifest["participants"][-1]
    assert extra == {
        "name": "extra",
        "version": "2.0",
        "tables": [],
        "files": {"index": "files/extra/index.jsonl.gz", "count": 2, "bytes": 21},
    }
    assert "files/extra/index.jsonl.gz" in result.manifest["members"]
    assert "files/extra/a.txt" not in result.manifest["members"]
    assert len(files.listed_with) == 1  # listed once, in the snapshot's transaction


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"size": 4}, "b.bin: 5 bytes where 4 were listed"),
        ({"size": 9}, "b.bin: 5 bytes where 9 were listed"),
        ({"sha256": "0" * 64}, "b.bin: its sha256 is not the one listed"),
    ],
)
def test_a_file_that_changed_fails_the_backup_and_leaves_nothing(
    registry, out, monkeypatch, changed, message
):
    files = FakeFiles([file_of("a.txt", b"fine"), file_of("b.bin", b"12345", **changed)])
    with_participant(monkeypatch, BackupParticipant("extra", (), files))

    with pytest.raises(BackupError, match=message):
        create_backup(registry, str(out / "out.tar"), now=NOW)
    assert list(out.iterdir()) == []  # neither the archive nor a .partial


def test_a_file_that_cannot_be_read_is_named(registry, out, monkeypatch):
    def missing():
        raise FileNotFoundError("blob gone")

    broken = file_of("gone.bin", b"x")
    files = FakeFiles([type(broken)("gone.bin", 1, broken.sha256, missing)])
    with_participant(monkeypatch, BackupParticipant("extra", (), files))

    with pytest.raises(BackupError, match=r"extra file gone.bin: cannot be read \(blob gone\)"):
        create_backup(registry, str(out), now=NOW)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden"])
def test_a_file_name_unfit_for_a_member_is_refused(registry, out, monkeypatch, name):
    with_participant(monkeypatch, BackupParticipant("extra", (), FakeFiles([file_of(name, b"x")])))
    with pytest.raises(BackupError, match="cannot be an archive member's"):
        create_backup(registry, str(out), now=NOW)
    assert list(out.iterdir()) == []


def test_a_database_behind_its_migrations_is_refused(registry, out, monkeypatch):
    real = MigrationSource.heads

    def heads(source):
        return {"a-newer-revision"} if source.name == "core" else real(source)

    monkeypatch.setattr(MigrationSource, "heads", heads)
    with pytest.raises(BackupError, match="behind for core: run benben migrate first"):
        create_backup(registry, str(out), now=NOW)
    assert list(out.iterdir()) == []


def test_plugins_without_a_participant_are_named(registry, out, monkeypatch):
    from benben.backup import dump

    monkeypatch.setattr(
        dump, "backup_participants", lambda registry: backup_participants(registry)[:1]
    )
    stream = io.StringIO()
    result = create_backup(
        registry, str(out / "out.tar"), now=NOW, progress=make_progress(stream, False)
    )
    others = [source.name for source in migration_sources(registry)][1:]
    assert others  # the bundled plugins have migrations
    assert result.manifest["not_backed_up"] == others
    for name in others:
        assert f"warning: plugin {name} has database tables but does not take part" in (
            stream.getvalue()
        )  # even when quiet


def test_a_directory_output_names_the_archive_by_its_time(registry, out):
    result = create_backup(registry, str(out), now=NOW)
    assert result.location == str(out / "benben-backup-20261207T190000000000Z.tar")
    assert [p.name for p in out.iterdir()] == ["benben-backup-20261207T190000000000Z.tar"]


@pytest.fixture
def out(tmp_path):
    """An empty directory for the archives (the data directory is tmp_path/var)."""
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


def test_the_default_output_is_the_backups_directory(registry):
    result = create_backup(registry, now=WHEN)
    backups = get_engine(registry) and registry.settings["benben.data_dir"] + "/backups"
    assert result.location == f"{backups}/benben-backup-20260304T050607890123Z.tar"
