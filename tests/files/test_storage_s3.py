"""The S3 backend against moto's server: multipart uploads (one part in memory, aborted on
failure), presigned downloads, the key prefix, S3's failures as StorageError."""

from __future__ import annotations

import datetime
import hashlib
import os
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from s3_support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, object_keys, pending_uploads

from benben_files.storage import new_key
from benben_files.storage.base import StorageError
from benben_files.storage.s3 import S3Storage

MiB = 1024 * 1024
PART = 5 * MiB


class ClientWentAwayError(Exception):
    pass


def make_storage(endpoint: str, bucket: str, **options: Any) -> S3Storage:
    return S3Storage(
        bucket,
        part_size=options.pop("part_size", PART),
        endpoint_url=endpoint,
        region=REGION,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        addressing_style="path",
        **options,
    )


@pytest.fixture
def s3(s3_endpoint: str, s3_bucket: str) -> S3Storage:
    return make_storage(s3_endpoint, s3_bucket)


def chunks_of(data: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


def recording_parts(storage: S3Storage) -> list[int]:
    """The size of every part the storage sends, as it sends it."""
    sizes: list[int] = []
    upload_part = storage.client.upload_part

    def record(**params: Any) -> Any:
        sizes.append(len(params["Body"]))
        return upload_part(**params)

    storage.client.upload_part = record  # type: ignore[method-assign]
    return sizes


def test_a_large_object_goes_as_a_multipart_upload(
    s3: S3Storage, s3_client: Any, s3_bucket: str
) -> None:
    data = os.urandom(11 * MiB + 17)
    parts = recording_parts(s3)
    key = new_key("blobs")
    assert s3.write(key, chunks_of(data), content_type="application/pdf") == len(data)

    # Never more than one part (and one chunk) in memory: parts of part_size, the rest last.
    assert parts == [PART, PART, MiB + 17]
    head = s3_client.head_object(Bucket=s3_bucket, Key=key)
    assert head["ContentLength"] == len(data)
    assert head["ContentType"] == "application/pdf"
    assert head["ETag"].strip('"').endswith("-3")  # S3's mark of a 3-part upload
    assert pending_uploads(s3_client, s3_bucket) == []
    stored = b"".join(s3.read(key))
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()


def test_an_object_of_exactly_one_part(s3: S3Storage, s3_client: Any, s3_bucket: str) -> None:
    parts = recording_parts(s3)
    key = new_key("blobs")
    s3.write(key, chunks_of(b"\1" * PART), content_type="application/octet-stream")
    assert parts == [PART]
    assert s3_client.head_object(Bucket=s3_bucket, Key=key)["ContentLength"] == PART
    assert pending_uploads(s3_client, s3_bucket) == []


def test_a_small_object_is_one_put(s3: S3Storage, s3_client: Any, s3_bucket: str) -> None:
    parts = recording_parts(s3)
    key = new_key("thumbnails")
    s3.write(key, [b"\x89PNG", b"...."], content_type="image/png")
    assert parts == []
    head = s3_client.head_object(Bucket=s3_bucket, Key=key)
    assert (head["ContentLength"], head["ContentType"]) == (8, "image/png")


def test_a_stream_failing_mid_upload_aborts_it(
    s3: S3Storage, s3_client: Any, s3_bucket: str
) -> None:
    def failing() -> Iterator[bytes]:
        yield from chunks_of(b"\0" * (7 * MiB))  # one part sent, the second begun
        raise ClientWentAwayError

    parts = recording_parts(s3)
    with pytest.raises(ClientWentAwayError):
        s3.write(new_key("blobs"), failing(), content_type="text/plain")
    assert parts == [PART]
    assert pending_uploads(s3_client, s3_bucket) == []
    assert object_keys(s3_client, s3_bucket) == []


def test_a_failure_of_s3_aborts_the_upload(
    s3: S3Storage, s3_client: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(**params: Any) -> Any:
        raise ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "Complete")

    monkeypatch.setattr(s3.client, "complete_multipart_upload", refused)
    with pytest.raises(StorageError, match="InternalError"):
        s3.write(new_key("blobs"), chunks_of(b"\0" * (6 * MiB)), content_type="text/plain")
    assert pending_uploads(s3_client, s3_bucket) == []
    assert object_keys(s3_client, s3_bucket) == []


def test_a_missing_bucket_is_a_storage_error(s3_endpoint: str) -> None:
    storage = make_storage(s3_endpoint, "benben-test-no-such-bucket")
    with pytest.raises(StorageError, match="NoSuchBucket"):
        storage.write(new_key("blobs"), [b"x"], content_type="text/plain")
    with pytest.raises(StorageError):
        storage.read(new_key("blobs"))  # not FileNotFoundError: the bucket is at fault
    with pytest.raises(StorageError):
        list(storage.iter_objects("blobs/"))
    with pytest.raises(StorageError):
        storage.check()


def test_an_unreachable_server_is_a_storage_error(s3_bucket: str) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    storage = make_storage(f"http://127.0.0.1:{port}", s3_bucket)
    with pytest.raises(StorageError, match="Could not connect"):
        storage.check()


def test_the_prefix_keeps_objects_in_their_folder(
    s3_endpoint: str, s3_bucket: str, s3_client: Any
) -> None:
    storage = make_storage(s3_endpoint, s3_bucket, prefix="benben/")
    key = new_key("blobs")
    storage.write(key, [b"hello"], content_type="text/plain")
    s3_client.put_object(Bucket=s3_bucket, Key="someone-else/blobs/x", Body=b"theirs")
    assert object_keys(s3_client, s3_bucket) == sorted([f"benben/{key}", "someone-else/blobs/x"])
    assert {item.key for item in storage.iter_objects("blobs/")} == {key}
    assert b"".join(storage.read(key, 1, 3)) == b"el"
    storage.delete(key)
    assert object_keys(s3_client, s3_bucket) == ["someone-else/blobs/x"]


def test_a_presigned_url_downloads_with_the_given_name(s3: S3Storage) -> None:
    key = new_key("blobs")
    s3.write(key, [b"%PDF-1.7 ..."], content_type="application/octet-stream")
    url = s3.presigned_url(
        key, filename='Résumé "final".pdf', content_type="application/pdf", expires_in=60
    )
    assert url is not None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["60"]
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - the test server
        assert answer.read() == b"%PDF-1.7 ..."
        assert answer.headers["Content-Type"] == "application/pdf"
        disposition = answer.headers["Content-Disposition"]
    assert disposition == (
        'attachment; filename="Resume \\"final\\".pdf"; '
        "filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.pdf"
    )


def test_an_altered_presigned_url_is_refused(s3: S3Storage) -> None:
    key = new_key("blobs")
    s3.write(key, [b"secret"], content_type="text/plain")
    url = s3.presigned_url(key, filename="a.txt", content_type="text/plain", expires_in=60)
    assert url is not None
    other = url.replace(key, new_key("blobs"))
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(other, timeout=10)  # noqa: S310 - the test server
    refused.value.close()
    assert refused.value.code in (403, 404)


def test_stale_multipart_uploads_are_aborted(s3: S3Storage, s3_client: Any, s3_bucket: str) -> None:
    s3_client.create_multipart_upload(Bucket=s3_bucket, Key="blobs/ab/abandoned")
    # Long ago (moto dates every upload 2010-11-10): too recent to abort.
    assert s3.abort_stale_uploads(datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC)) == 0
    assert len(pending_uploads(s3_client, s3_bucket)) == 1
    now = datetime.datetime.now(datetime.UTC)
    assert s3.abort_stale_uploads(now + datetime.timedelta(minutes=1)) == 1
    assert pending_uploads(s3_client, s3_bucket) == []
