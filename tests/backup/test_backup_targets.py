"""Targets: what --output names, archives written whole or not at all, and S3 (moto's server)."""

from __future__ import annotations

import datetime
import logging

import pytest

from benben.backup.targets import (
    BackupError,
    DirectoryTarget,
    S3Target,
    archive_name,
    archive_time,
    fetch_archive,
    open_target,
)
from benben.testing import unavailable

NOW = datetime.datetime(2026, 12, 7, 19, 0, 0, 123456, tzinfo=datetime.UTC)
KEY_ID, SECRET, REGION = "benben-test", "benben-test-secret", "us-east-1"


def write(target, name, data, failure=None):
    """Write ``data`` as the archive ``name``, then raise ``failure`` if given."""
    with target.write(name) as out:
        out.write(data)
        if failure is not None:
            raise failure


def settings(tmp_path, **values):
    return {"benben.data_dir": str(tmp_path / "var"), "benben.backup.target": "", **values}


def test_archive_names_carry_their_utc_time():
    name = archive_name(NOW.astimezone(datetime.timezone(datetime.timedelta(hours=-5))))
    assert name == "benben-backup-20261207T190000123456Z.tar"
    assert archive_time(name) == NOW
    assert archive_time("benben-backup-latest.tar") is None
    assert archive_time("benben-backup-20261307T190000123456Z.tar") is None  # month 13
    assert archive_time(name + ".partial") is None


def test_outputs(tmp_path):
    (tmp_path / "existing").mkdir()
    default = open_target(settings(tmp_path), None)
    assert isinstance(default, DirectoryTarget)
    assert default.directory == tmp_path / "var" / "backups"
    assert default.directory.is_dir()
    assert default.directory.stat().st_mode & 0o777 == 0o700

    configured = open_target(settings(tmp_path, **{"benben.backup.target": str(tmp_path)}), None)
    assert configured.location(configured.name_for(NOW)) == str(tmp_path / archive_name(NOW))

    file = open_target(settings(tmp_path), str(tmp_path / "mine.tar"))
    assert file.location(file.name_for(NOW)) == str(tmp_path / "mine.tar")

    existing = open_target(settings(tmp_path), str(tmp_path / "existing"))
    assert existing.location(existing.name_for(NOW)) == str(
        tmp_path / "existing" / archive_name(NOW)
    )

    new = open_target(settings(tmp_path), str(tmp_path / "new" / "dir") + "/")
    assert (tmp_path / "new" / "dir").is_dir()
    assert new.location("x.tar") == str(tmp_path / "new" / "dir" / "x.tar")


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("nowhere", "nowhere: neither an existing directory nor a file name ending in .tar"),
        ("missing/out.tar", "directory .*missing does not exist"),
        ("s3://", r"s3://: no bucket"),
    ],
)
def test_unusable_outputs_are_refused_as_input_errors(tmp_path, monkeypatch, output, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BackupError, match=message) as caught:
        open_target(settings(tmp_path), output)
    assert caught.value.usage is True


def test_a_directory_target_writes_whole_or_nothing(tmp_path):
    target = DirectoryTarget(tmp_path)
    with target.write("a.tar") as out:
        out.write(b"complete")
        assert (tmp_path / "a.tar.partial").exists()
    assert (tmp_path / "a.tar").read_bytes() == b"complete"
    assert (tmp_path / "a.tar").stat().st_mode & 0o777 == 0o600

    with pytest.raises(RuntimeError):
        write(target, "a.tar", b"half", RuntimeError("disk full"))
    assert (tmp_path / "a.tar").read_bytes() == b"complete"  # the old archive stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar"]


@pytest.fixture(scope="module")
def s3_endpoint():
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        unavailable(f"moto's server is not installed ({exc}): pip install 'moto[server]'")
        raise
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_settings(s3_endpoint, tmp_path, monkeypatch):
    import boto3

    for name, value in [("AWS_ACCESS_KEY_ID", KEY_ID), ("AWS_SECRET_ACCESS_KEY", SECRET)]:
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION)
    bucket = f"backups-{tmp_path.name[-20:].lower().replace('_', '-')}"
    client.create_bucket(Bucket=bucket)
    values = settings(
        tmp_path,
        **{"benben.backup.s3_endpoint_url": s3_endpoint, "benben.backup.s3_region": REGION},
    )
    return values, client, bucket


def test_an_s3_target_writes_lists_fetches_and_deletes(s3_settings):
    values, client, bucket = s3_settings
    target = open_target(values, f"s3://{bucket}/nightly/")
    assert isinstance(target, S3Target)
    name = target.name_for(NOW)
    assert target.location(name) == f"s3://{bucket}/nightly/{name}"
    with target.write(name) as out:
        out.write(b"archive bytes")
    client.put_object(Bucket=bucket, Key="nightly/notes.txt", Body=b"x")
    client.put_object(Bucket=bucket, Key=f"other/{name}", Body=b"x")

    assert [(i.name, i.created_at, i.size) for i in target.list()] == [(name, NOW, 13)]
    with fetch_archive(values, f"s3://{bucket}/nightly/{name}") as local:
        assert local.read_bytes() == b"archive bytes"
    assert not local.exists()  # the download is removed afterwards

    with pytest.raises(RuntimeError):
        write(target, "benben-backup-x.tar", b"half", RuntimeError("failed"))
    target.delete(name)
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(keys) == ["nightly/notes.txt", f"other/{name}"]  # nothing half-written


def test_s3_failures_are_one_clear_line(s3_settings):
    values, _client, _bucket = s3_settings
    target = open_target(values, "s3://no-such-bucket-here/x")
    pattern = r"s3://no-such-bucket-here/x/benben-backup-.*NoSuchBucket"
    with pytest.raises(BackupError, match=pattern):
        write(target, target.name_for(NOW), b"data")
    with pytest.raises(BackupError, match="s3://b: no object key"):
        fetch_archive(values, "s3://b").__enter__()


def test_a_backup_goes_to_s3(registry, s3_settings):
    from benben.backup.dump import create_backup

    values, client, bucket = s3_settings
    registry.settings.update(
        {key: value for key, value in values.items() if key.startswith("benben.backup.")}
    )
    result = create_backup(registry, f"s3://{bucket}/db", now=NOW)
    assert result.location == f"s3://{bucket}/db/{archive_name(NOW)}"
    body = client.get_object(Bucket=bucket, Key=f"db/{archive_name(NOW)}")["Body"].read()
    assert len(body) == result.size
    assert body[:13] == b"manifest.json"
