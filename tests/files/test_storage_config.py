"""The storage from settings: the local default, S3, and start-up refusing what cannot work
with a ConfigurationError naming the setting; the readiness probe's non-critical check."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import webtest
from s3_support import s3_settings

from benben.plugin import ConfigurationError
from benben_files.storage import get_storage
from benben_files.storage.local import LocalStorage
from benben_files.storage.s3 import S3Storage

# Start-up is the same on either database: SQLite only, the storage chosen by each test.
pytestmark = pytest.mark.parametrize(
    "backends", [("sqlite", "memory")], indirect=True, ids=["sqlite-memory"]
)

MakeApp = Callable[..., webtest.TestApp]


def storage_check(app: webtest.TestApp, status: int = 200) -> dict[str, Any]:
    result: dict[str, Any] = app.get("/health/ready", status=status).json
    return result


@pytest.mark.parametrize("storage_kind", ["local"], indirect=True)
def test_local_by_default_in_the_data_directory(
    app: webtest.TestApp, app_settings: dict[str, Any]
) -> None:
    storage = get_storage(app.app.registry)
    assert isinstance(storage, LocalStorage)
    assert storage.root == Path(app_settings["benben.data_dir"]).resolve() / "files"
    assert storage.root.is_dir()
    body = storage_check(app)
    assert body["status"] == "ok"
    assert body["checks"]["files-storage"]["status"] == "up"
    assert body["checks"]["files-storage"]["critical"] is False


@pytest.mark.parametrize("storage_kind", ["local"], indirect=True)
def test_a_local_path_is_created(make_app: MakeApp, tmp_path: Path) -> None:
    root = tmp_path / "volume" / "benben-files"
    app = make_app({"benben.files.local.path": str(root)})
    storage = get_storage(app.app.registry)
    assert isinstance(storage, LocalStorage)
    assert storage.root == root
    assert root.is_dir()


@pytest.mark.parametrize("storage_kind", ["local"], indirect=True)
def test_a_local_path_that_cannot_be_created_stops_start_up(
    make_app: MakeApp, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigurationError, match=r"benben\.files\.local\.path"):
        make_app({"benben.files.local.path": str(blocker / "files")})


@pytest.mark.parametrize("storage_kind", ["local"], indirect=True)
def test_a_local_storage_gone_degrades_readiness(app: webtest.TestApp) -> None:
    storage = get_storage(app.app.registry)
    assert isinstance(storage, LocalStorage)
    storage.root.rmdir()
    body = storage_check(app)  # still ready: only files need the storage
    assert body["status"] == "degraded"
    assert body["checks"]["files-storage"]["status"] == "degraded"


@pytest.mark.parametrize("storage_kind", ["s3"], indirect=True)
def test_s3_from_settings(
    app: webtest.TestApp, s3_bucket: str, make_app: MakeApp, s3_client: Any
) -> None:
    storage = get_storage(app.app.registry)
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix, storage.part_size) == (s3_bucket, "", 5 * 1024**2)
    assert storage_check(app)["checks"]["files-storage"]["status"] == "up"

    # The prefix is a folder, however it is written.
    prefixed = get_storage(make_app({"benben.files.s3.prefix": "/tenant-a"}).app.registry)
    assert isinstance(prefixed, S3Storage)
    assert prefixed.prefix == "tenant-a/"
    prefixed.write("blobs/ab/abc", [b"x"], content_type="text/plain")
    keys = [item["Key"] for item in s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys == ["tenant-a/blobs/ab/abc"]


@pytest.mark.parametrize("storage_kind", ["s3"], indirect=True)
def test_a_missing_bucket_degrades_readiness(make_app: MakeApp) -> None:
    # Start-up does not call S3 (a provider's outage must not stop the API from starting).
    app = make_app({"benben.files.s3.bucket": "benben-test-never-created"})
    body = storage_check(app)
    assert body["status"] == "degraded"
    assert body["checks"]["files-storage"] == {
        "status": "degraded",
        "reason": "error",
        "critical": False,
        "duration_ms": body["checks"]["files-storage"]["duration_ms"],
    }


@pytest.mark.parametrize("storage_kind", ["local"], indirect=True)
@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"benben.files.storage": "s3"}, "benben.files.s3.bucket"),
        ({"benben.files.storage": "s3", "benben.files.s3.bucket": "  "}, "benben.files.s3.bucket"),
        (
            {**s3_settings("http://127.0.0.1:9", "bucket"), "benben.files.s3.access_key_id": ""},
            "benben.files.s3.access_key_id and benben.files.s3.secret_access_key",
        ),
        (
            s3_settings("minio.internal:9000", "bucket"),
            "benben.files.s3.endpoint_url: 'minio.internal:9000'",
        ),
        (s3_settings("http://127.0.0.1:99999", "bucket"), "benben.files.s3.endpoint_url"),
        ({"benben.files.storage": "ftp"}, "benben.files.storage"),
        (
            s3_settings("http://127.0.0.1:9", "bucket", **{"benben.files.s3.part_size": "1024"}),
            "benben.files.s3.part_size",
        ),
        (
            s3_settings("http://127.0.0.1:9", "b", **{"benben.files.s3.addressing_style": "x"}),
            "benben.files.s3.addressing_style",
        ),
    ],
    ids=[
        "no-bucket",
        "blank-bucket",
        "half-credentials",
        "endpoint-not-a-url",
        "endpoint-bad-port",
        "unknown-storage",
        "part-too-small",
        "addressing-style",
    ],
)
def test_bad_settings_stop_start_up(
    make_app: MakeApp, overrides: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        make_app(overrides)
    assert named in str(refused.value)


@pytest.mark.parametrize("storage_kind", ["local"], indirect=True)
def test_s3_without_boto3_says_what_to_install(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # what `import boto3` finds uninstalled
    with pytest.raises(ConfigurationError) as refused:
        make_app(s3_settings("http://127.0.0.1:9", "bucket"))
    assert "pip install 'benben[s3]'" in str(refused.value)
