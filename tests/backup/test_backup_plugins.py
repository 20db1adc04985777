"""Third parties' plugins in backups: a plugin's tables declared with add_backup_participant are
archived and restored; a plugin with tables but no participant is named in the manifest
(``not_backed_up``) and its data is not in the archive."""

from __future__ import annotations

import pytest
from backup_plugins_support import (
    importable,
    manifest_of,
    member_names,
    other_database,
    table_rows,
    write_plugin,
)
from sqlalchemy import text

from benben.backup.dump import create_backup
from benben.backup.restore import restore_archive
from benben.db import get_engine


@pytest.fixture
def plugins(tmp_path, backends):
    site = tmp_path / "site"
    site.mkdir()
    taking_part = write_plugin(site, participant=True)
    left_out = write_plugin(site, participant=False)
    with importable(site):
        # Found with the installed ones: site is on sys.path meanwhile.
        yield taking_part, left_out, backends.shared.plugin_entry_points()


def add_notes(registry, plugin, *bodies):
    with get_engine(registry).begin() as connection:
        for body in bodies:
            connection.execute(
                text(f"INSERT INTO {plugin}_notes (body, tags) VALUES (:body, :tags)"),  # noqa: S608 - the test plugin's table
                {"body": body, "tags": '["a", "b"]'},
            )


def notes(registry, plugin):
    with get_engine(registry).connect() as connection:
        query = text(f"SELECT id, body, tags FROM {plugin}_notes ORDER BY id")  # noqa: S608 - the test plugin's table
        return [tuple(row) for row in connection.execute(query)]


def test_a_participant_is_archived_and_one_without_is_named(make_app, plugins, tmp_path):
    taking_part, left_out, entry_points = plugins
    registry = make_app(entry_points=entry_points).app.registry
    add_notes(registry, taking_part, "first", "second")
    add_notes(registry, taking_part, "third")
    add_notes(registry, left_out, "never archived")
    with get_engine(registry).begin() as connection:  # a gap in the ids, and a pruned maximum
        connection.execute(text(f"DELETE FROM {taking_part}_notes WHERE body = 'third'"))  # noqa: S608 - the test plugin's table

    archive = tmp_path / "archive.tar"
    create_backup(registry, str(archive))

    manifest = manifest_of(archive)
    described = {participant["name"]: participant for participant in manifest["participants"]}
    assert manifest["not_backed_up"] == [left_out]
    assert left_out not in described
    assert manifest["participants"][0]["name"] == "core"
    ours = described[taking_part]
    assert ours["version"] == "2.3.0"
    (table,) = ours["tables"]
    assert (table["name"], table["rows"], table["primary_key"]) == (
        f"{taking_part}_notes",
        2,
        ["id"],
    )
    assert [column["name"] for column in table["columns"]] == ["id", "body", "tags"]
    assert table_rows(archive, f"{taking_part}_notes") == [
        [1, "first", ["a", "b"]],
        [2, "second", ["a", "b"]],
    ]
    assert not [name for name in member_names(archive) if left_out in name]


def test_a_participant_is_restored_and_one_without_is_left_empty(
    make_app, plugins, backends, app_settings, tmp_path
):
    taking_part, left_out, entry_points = plugins
    registry = make_app(entry_points=entry_points).app.registry
    add_notes(registry, taking_part, "first", "second", "third")
    add_notes(registry, left_out, "never archived")
    with get_engine(registry).begin() as connection:
        connection.execute(text(f"DELETE FROM {taking_part}_notes WHERE body = 'second'"))  # noqa: S608 - the test plugin's table
    archive = tmp_path / "archive.tar"
    create_backup(registry, str(archive))

    with other_database(backends, tmp_path) as other:
        target = make_app({**app_settings, **other.settings()}, entry_points=entry_points)
        restored = target.app.registry
        other.track(restored)
        restore_archive(restored, str(archive))

        assert notes(restored, taking_part) == notes(registry, taking_part)
        assert [body for _id, body, _tags in notes(restored, taking_part)] == ["first", "third"]
        assert notes(restored, left_out) == []
        add_notes(restored, taking_part, "fourth")  # the sequence goes on past the archive's
        assert notes(restored, taking_part)[-1][:2] == (4, "fourth")
