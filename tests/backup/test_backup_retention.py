"""Retention: which archives a target keeps (table-driven), and deleting the others from a
directory without touching anything else there."""

from __future__ import annotations

import datetime

import pytest

from benben.backup.retention import apply_retention, archives_to_keep
from benben.backup.targets import DirectoryTarget, archive_name

UTC = datetime.UTC
NOW = datetime.datetime(2026, 12, 9, 12, 0, tzinfo=UTC)  # a Wednesday, ISO week 50


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


def kept(times: list[str], daily: int, weekly: int) -> list[str]:
    archives = [(archive_name(at(t)), at(t)) for t in times]
    names = archives_to_keep(archives, daily, weekly, NOW)
    return sorted(t for t in times if archive_name(at(t)) in names)


@pytest.mark.parametrize(
    ("times", "daily", "weekly", "expected"),
    [
        # Nothing to keep but the newest.
        (["2026-12-09T01:00", "2026-12-09T02:00"], 0, 0, ["2026-12-09T02:00"]),
        # The newest of each day.
        (
            ["2026-12-08T01:00", "2026-12-08T23:59", "2026-12-09T00:00", "2026-12-09T11:00"],
            7,
            0,
            ["2026-12-08T23:59", "2026-12-09T11:00"],
        ),
        # Only the last N days that have an archive.
        (
            ["2026-12-01T10:00", "2026-12-03T10:00", "2026-12-05T10:00", "2026-12-09T10:00"],
            2,
            0,
            ["2026-12-05T10:00", "2026-12-09T10:00"],
        ),
        # Backups that stopped a month ago: the last ones are still kept.
        (
            ["2026-11-01T10:00", "2026-11-02T10:00", "2026-11-03T10:00"],
            2,
            0,
            ["2026-11-02T10:00", "2026-11-03T10:00"],
        ),
        # Weeks: the newest of each ISO week (Monday to Sunday).
        (
            ["2026-11-29T10:00", "2026-11-30T10:00", "2026-12-06T23:00", "2026-12-07T01:00"],
            0,
            2,
            ["2026-12-06T23:00", "2026-12-07T01:00"],
        ),
        (
            ["2026-11-22T10:00", "2026-11-29T10:00", "2026-12-06T10:00", "2026-12-09T10:00"],
            1,
            3,
            ["2026-11-29T10:00", "2026-12-06T10:00", "2026-12-09T10:00"],
        ),
        # Daily and weekly overlap: counted once, kept once.
        (["2026-12-08T10:00", "2026-12-09T10:00"], 7, 4, ["2026-12-08T10:00", "2026-12-09T10:00"]),
        # ISO weeks across a year's end: 2025-12-29 (Mon) to 2026-01-04 are 2026's week 1.
        (
            ["2025-12-28T10:00", "2025-12-29T10:00", "2026-01-04T10:00"],
            0,
            5,
            ["2025-12-28T10:00", "2026-01-04T10:00"],
        ),
        # Archives from after "now" (a clock moved back) are kept and not counted.
        (
            ["2026-12-08T10:00", "2026-12-09T10:00", "2026-12-10T10:00"],
            1,
            0,
            ["2026-12-09T10:00", "2026-12-10T10:00"],
        ),
        ([], 7, 4, []),
    ],
)
def test_which_archives_are_kept(times, daily, weekly, expected):
    assert kept(times, daily, weekly) == expected


def test_retention_on_a_directory_deletes_only_old_archives(tmp_path):
    names = [archive_name(NOW - datetime.timedelta(days=days)) for days in range(10)]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    others = [
        "notes.txt",
        "benben-backup-latest.tar",
        "benben-backup-20260101T000000000000Z.tar.partial",
    ]
    for name in others:
        (tmp_path / name).write_bytes(b"keep me")
    target = DirectoryTarget(tmp_path)

    deleted = apply_retention(target, 3, 0, NOW)

    assert deleted == sorted(names[3:])  # oldest first
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[:3] + others)
    assert [info.name for info in target.list()] == sorted(names[:3])
    assert apply_retention(target, 3, 0, NOW) == []  # nothing more to do
