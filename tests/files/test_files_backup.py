"""The files plugin in backups (benben_files.backup): its tables and each stored content once in
the archive, a content missing from storage a clear error naming it, and the contents written
back where the restored rows say, on either storage, without touching what was there."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import tarfile

import pytest
from files_support import attachments_url, blob_rows, read_object, upload_raw
from s3_support import new_bucket, object_keys, remove_bucket, s3_settings

from benben.backup.dump import create_backup
from benben.backup.restore import restore_archive
from benben.backup.targets import BackupError
from benben.testing import Backends
from benben.testing_auth import bearer, login
from benben_files.backup import BlobFiles, key_of, member_name
from benben_files.storage import get_storage


def archive_members(archive):
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        files = {
            member.name: tar.extractfile(member).read()
            for member in tar.getmembers()
            if member.name.startswith("files/") and not member.name.endswith(".gz")
        }
        index = gzip.decompress(tar.extractfile("files/files/index.jsonl.gz").read())
    return manifest, files, [json.loads(line) for line in index.splitlines()]


def test_each_content_is_archived_once_with_the_tables(app, who, tmp_path):
    shared, own = b"the same bytes", b"a map of Arrakis"
    for name, content in [("a.txt", shared), ("b.txt", shared), ("map.txt", own)]:
        upload_raw(app, who.alice, content, name=name, content_type="text/plain")
    registry = app.app.registry
    archive = tmp_path / "archive.tar"

    create_backup(registry, str(archive))

    manifest, files, index = archive_members(archive)
    (ours,) = [p for p in manifest["participants"] if p["name"] == "files"]
    assert [table["name"] for table in ours["tables"]] == [
        "files_blobs",
        "files_attachments",
        "files_policies",
    ]  # thumbnails are made again
    rows = {table["name"]: table["rows"] for table in ours["tables"]}
    assert (rows["files_blobs"], rows["files_attachments"]) == (2, 3)
    assert ours["files"]["count"] == 2
    assert ours["files"]["bytes"] == len(shared) + len(own)
    blobs = blob_rows(registry)
    expected = sorted([member_name(blob["key"]), blob["size"], sha] for sha, blob in blobs.items())
    assert index == expected
    for name, _size, sha in index:
        assert hashlib.sha256(files[f"files/files/{name}"]).hexdigest() == sha
        assert key_of(name) == blobs[sha]["key"]


def test_a_content_missing_from_storage_fails_the_backup_naming_it(app, who, tmp_path):
    upload_raw(app, who.alice, b"soon gone", name="gone.txt", content_type="text/plain")
    registry = app.app.registry
    ((sha, blob),) = blob_rows(registry).items()
    get_storage(registry).delete(blob["key"])
    archive = tmp_path / "archive.tar"

    with pytest.raises(BackupError) as failure:
        create_backup(registry, str(archive))

    message = str(failure.value)
    assert sha in message
    assert blob["key"] in message
    assert "missing" in message
    assert not archive.exists()


def test_names_carry_only_keys_a_backup_makes():
    key = "blobs/3f/3f2a" + "0" * 28
    assert member_name(key) == "blobs.3f.3f2a" + "0" * 28
    assert key_of(member_name(key)) == key
    for bad in ["thumbnails.3f.abc", "blobs", "blobs..x", "blobs.a b", ".blobs.x", "x.blobs.y"]:
        with pytest.raises(ValueError, match="is not the name of a stored content"):
            key_of(bad)
    for bad in ["blobs/a.b", "blobs/../x", "other/x"]:
        with pytest.raises(ValueError, match="cannot be named in an archive"):
            member_name(bad)


@pytest.mark.parametrize("storage_kind", ["local", "s3"], indirect=True)
def test_restore_writes_new_keys_keeps_existing_and_discards_only_its_own(app, who, storage_kind):
    upload_raw(app, who.alice, b"already here", name="here.txt", content_type="text/plain")
    registry = app.app.registry
    storage = get_storage(registry)
    ((_sha, blob),) = blob_rows(registry).items()
    existing, new = member_name(blob["key"]), "blobs.ab." + "ab" * 16
    files = BlobFiles()

    files.restore(registry, existing, iter([b"other bytes"]))
    files.restore(registry, new, iter([b"restored ", b"bytes"]))

    assert read_object(storage, blob["key"]) == b"already here"  # never overwritten
    assert read_object(storage, key_of(new)) == b"restored bytes"
    files.discard(registry, [existing, new])
    assert read_object(storage, blob["key"]) == b"already here"
    with pytest.raises(FileNotFoundError):
        read_object(storage, key_of(new))


@contextlib.contextmanager
def other_instance(request, backends, tmp_path, storage):
    """Another database on the same backend, with ``storage`` ("local": the disk under its
    own data directory; "s3": a new bucket): its settings and what names its storage."""
    (tmp_path / "other").mkdir()
    other = Backends(backends.database, backends.cache, tmp_path / "other", backends.shared)
    s3 = request.getfixturevalue("s3_client") if storage == "s3" else None
    bucket = new_bucket(s3) if s3 is not None else None
    try:
        if bucket is None:
            yield other, {"benben.files.storage": "local"}, bucket
        else:
            endpoint = request.getfixturevalue("s3_endpoint")
            yield other, s3_settings(endpoint, bucket), bucket
    finally:
        other.close()
        if bucket is not None:
            remove_bucket(s3, bucket)


@pytest.mark.parametrize("storage_kind", ["local", "s3"], indirect=True)
def test_attachments_restored_into_the_other_storage_download_the_same(
    request, app, who, storage_kind, make_app, app_settings, backends, tmp_path
):
    contents = {"cover.png": b"\x89PNG not really", "notes.txt": b"spice " * 1000}
    for name, content in contents.items():
        upload_raw(app, who.alice, content, name=name, content_type="text/plain")
    archive = tmp_path / "archive.tar"
    create_backup(app.app.registry, str(archive))
    keys = {blob["key"] for blob in blob_rows(app.app.registry).values()}
    target_kind = "s3" if storage_kind == "local" else "local"

    with other_instance(request, backends, tmp_path, target_kind) as (other, storage, bucket):
        settings = {**app_settings, **other.settings(), **storage}
        settings = {k: v for k, v in settings.items() if not k.startswith("benben.files.s3.")}
        target = make_app({**settings, **storage})
        other.track(target.app.registry)
        restore_archive(target.app.registry, str(archive))

        alice = bearer(login(target, "alice")["access_token"])
        for name, content in contents.items():
            got = target.get(attachments_url(name=name), headers=alice)
            assert got.body == content
        restored = get_storage(target.app.registry)
        assert restored.name == target_kind
        assert {key for key in keys if _exists(restored, key)} == keys
        if bucket is not None:
            s3 = request.getfixturevalue("s3_client")
            assert object_keys(s3, bucket) == sorted(keys)


def _exists(storage, key):
    try:
        read_object(storage, key)
    except FileNotFoundError:
        return False
    return True
