"""What a restore refuses, and failures halfway: each a clear error, and the target exactly as
it was (PostgreSQL: its tables and rows; SQLite: the file's bytes, no .restoring left)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from archive_edits import edit_manifest, flip_byte, truncate_inside
from restore_support import count_users, file_digest, postgresql_rows

from benben.backup import restore as restore_module
from benben.backup.dump import create_backup
from benben.backup.format import ArchiveError
from benben.backup.participants import backup_participants
from benben.backup.restore import RestoreError, restore_archive
from benben.testing_auth import add_user


@pytest.fixture
def archive(app, tmp_path):
    for number in range(3):
        add_user(app.app.registry, f"user{number}")
    return Path(create_backup(app.app.registry, str(tmp_path / "a.tar")).location)


def state(registry):
    """What "as it was" means on the target's backend."""
    from benben.db import get_engine

    engine = get_engine(registry)
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database)
        restoring = path.with_name(path.name + ".restoring")
        return file_digest(path), restoring.exists()
    return postgresql_rows(registry)


def refused(registry, archive, error, match, **options):
    before = state(registry)
    with pytest.raises(error, match=match):
        restore_archive(registry, archive, **options)
    assert state(registry) == before


def test_a_damaged_archive_leaves_the_target_as_it_was(app, archive):
    registry = app.app.registry
    refused(
        registry,
        flip_byte(archive, "tables/benben_users.jsonl.gz", 30),
        ArchiveError,
        "sha256 mismatch",
        force=True,
    )
    refused(
        registry,
        truncate_inside(archive, "tables/benben_users.jsonl.gz"),
        ArchiveError,
        "truncated",
        force=True,
    )


def test_a_future_format_version_head_or_benben_is_refused(app, archive):
    registry = app.app.registry
    newer_format = edit_manifest(archive, lambda m: m.update(format_version=7))
    refused(registry, newer_format, ArchiveError, "archive format 7 is newer", force=True)

    def future_head(manifest):
        manifest["migrations"]["core"].append("0999_from_the_future")

    refused(
        registry,
        edit_manifest(archive, future_head),
        RestoreError,
        r"its migration 0999_from_the_future of core is unknown here; upgrade Benben",
        force=True,
    )
    newer = edit_manifest(archive, lambda m: m.update(benben_version="999.0"))
    refused(registry, newer, RestoreError, r"archive is from a newer Benben \(999.0\)", force=True)


def test_data_of_a_plugin_not_installed_is_refused(app, archive):
    def ghost(manifest):
        for participant in manifest["participants"]:
            if participant["name"] == "webhooks":
                participant["name"] = "ghost"
        manifest["migrations"]["ghost"] = manifest["migrations"].pop("webhooks")

    refused(
        app.app.registry,
        edit_manifest(archive, ghost),
        RestoreError,
        r"archive holds data of plugin 'ghost' .*which is not installed here",
        force=True,
    )


def test_a_target_with_data_is_refused_and_force_replaces_it(app, archive):
    registry = app.app.registry
    add_user(registry, "after_the_backup")
    users = count_users(registry)
    refused(registry, archive, RestoreError, r"the target database is not empty \(\d+ users")
    restore_archive(registry, archive, force=True)
    assert count_users(registry) == users - 1


def test_a_failure_midway_leaves_the_target_as_it_was(app, archive, monkeypatch):
    registry = app.app.registry
    add_user(registry, "after_the_backup")

    def broken(_connection):
        raise RuntimeError("rebuild failed")

    participants = [
        dataclasses.replace(p, after_restore=broken) if p.name == "core" else p
        for p in backup_participants(registry)
    ]
    monkeypatch.setattr(restore_module, "backup_participants", lambda _registry: participants)
    refused(registry, archive, RuntimeError, "rebuild failed", force=True)
    assert count_users(registry) == 4
