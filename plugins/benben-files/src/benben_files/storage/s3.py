"""An S3-compatible bucket as a :class:`~.base.BlobStorage` (AWS S3, MinIO, Ceph, R2...).

One boto3 client per app (clients are thread-safe, sessions are not).  An object larger than
one part (``benben.files.s3.part_size``) is sent as a multipart upload, one part in memory at a
time; a failed upload is aborted, so that no object and no pending upload (which the provider
bills) is left behind.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterable, Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..disposition import content_disposition
from .base import StorageError, StoredObject

__all__ = ["CHUNK_SIZE", "MAX_PARTS", "S3Storage"]

CHUNK_SIZE = 256 * 1024
MAX_PARTS = 10_000  # S3's limit per multipart upload
MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _failure(operation: str, key: str, exc: Exception) -> StorageError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        detail = f"{error.get('Code', '?')}: {error.get('Message', '')}".strip()
    else:
        detail = f"{type(exc).__name__}: {exc}"
    return StorageError(f"S3 {operation} {key!r} failed ({detail})")


class BodyChunks:
    """An object's body read in chunks; closed (its connection released) at the end or when
    the WSGI server closes the response early."""

    def __init__(self, body: Any, key: str) -> None:
        self._body = body
        self._key = key
        self._chunks: Iterator[bytes] = body.iter_chunks(CHUNK_SIZE)

    def __iter__(self) -> BodyChunks:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            self.close()
            raise
        except BotoCoreError as exc:  # the connection broke mid-body, a read timed out
            self.close()
            raise _failure("read", self._key, exc) from exc

    def close(self) -> None:
        self._body.close()


class S3Storage:
    """Objects in ``bucket``, under ``prefix`` (``benben/`` shares a bucket with others)."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        part_size: int = 16 * 1024 * 1024,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        addressing_style: str = "auto",
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size
        options: dict[str, Any] = {}
        if endpoint_url:
            # Since botocore 1.36 every upload carries a CRC checksum (aws-chunked trailers)
            # that many S3-compatible servers refuse; send checksums only where S3 needs them.
            options["request_checksum_calculation"] = "when_required"
            options["response_checksum_validation"] = "when_required"
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing_style},
            connect_timeout=5,
            read_timeout=60,
            retries={"mode": "standard", "max_attempts": 4},
            # Requests of all the app's threads share the client's connection pool.
            max_pool_connections=32,
            **options,
        )
        # A session of its own: sessions are not thread-safe, the client made from one is.
        session = boto3.session.Session(
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            region_name=region or None,
        )
        self.client = session.client("s3", endpoint_url=endpoint_url or None, config=config)

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _key(self, key: str) -> str:
        return self.prefix + key

    def _call(self, operation: str, key: str, **params: Any) -> Any:
        """The client's ``operation``, its failures as StorageError."""
        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **params)
        except (BotoCoreError, ClientError) as exc:
            raise _failure(operation, key, exc) from exc

    def write(self, key: str, chunks: Iterable[bytes], *, content_type: str) -> int:
        object_key = self._key(key)
        iterator = iter(chunks)
        buffer = bytearray()
        # The first part decides: a small object is one PUT, a larger one a multipart upload.
        for chunk in iterator:
            buffer += chunk
            if len(buffer) >= self.part_size:
                break
        else:
            self._call("put_object", key, Key=object_key, Body=buffer, ContentType=content_type)
            return len(buffer)
        upload = self._call(
            "create_multipart_upload", key, Key=object_key, ContentType=content_type
        )
        upload_id = upload["UploadId"]
        try:
            return self._upload_parts(key, upload_id, buffer, iterator)
        except BaseException:
            self._abort(key, upload_id)
            raise

    def _upload_parts(
        self, key: str, upload_id: str, buffer: bytearray, iterator: Iterator[bytes]
    ) -> int:
        parts: list[dict[str, Any]] = []
        size = 0

        def send(body: bytearray) -> None:
            number = len(parts) + 1
            if number > MAX_PARTS:
                raise StorageError(
                    f"S3 upload {key!r}: more than {MAX_PARTS} parts; raise "
                    "benben.files.s3.part_size"
                )
            answer = self._call(
                "upload_part",
                key,
                Key=self._key(key),
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
            )
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})

        # One buffer, emptied in place once its part is sent (the caller holds it too: a new
        # one would keep two parts in memory).
        send(buffer)
        size += len(buffer)
        del buffer[:]
        for chunk in iterator:
            buffer += chunk
            if len(buffer) >= self.part_size:
                send(buffer)
                size += len(buffer)
                del buffer[:]
        if buffer:
            send(buffer)
            size += len(buffer)
        self._call(
            "complete_multipart_upload",
            key,
            Key=self._key(key),
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        )
        return size

    def _abort(self, key: str, upload_id: str) -> None:
        # The original failure is the one to report; a pending upload left by an outage is what
        # the bucket's lifecycle rule or abort_stale_uploads() removes.
        with contextlib.suppress(BotoCoreError, ClientError):
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self._key(key), UploadId=upload_id
            )

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        if end is not None and end <= start:
            return iter(())
        params: dict[str, Any] = {"Key": self._key(key)}
        if start or end is not None:
            last = "" if end is None else str(end - 1)
            params["Range"] = f"bytes={start}-{last}"
        try:
            answer = self.client.get_object(Bucket=self.bucket, **params)
        except ClientError as exc:
            if _code(exc) in MISSING:
                raise FileNotFoundError(f"no object {key!r} in S3 bucket {self.bucket!r}") from exc
            if _code(exc) == "InvalidRange":  # start past the end: nothing, as a file gives
                return iter(())
            raise _failure("read", key, exc) from exc
        except BotoCoreError as exc:
            raise _failure("read", key, exc) from exc
        return BodyChunks(answer["Body"], key)

    def delete(self, key: str) -> None:
        # S3 answers a missing key's DELETE with success too.
        self._call("delete_object", key, Key=self._key(key))

    def iter_objects(self, prefix: str) -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
                for item in page.get("Contents", ()):
                    yield StoredObject(
                        key=item["Key"][len(self.prefix) :],
                        size=int(item["Size"]),
                        modified_at=item["LastModified"].astimezone(datetime.UTC),
                    )
        except (BotoCoreError, ClientError) as exc:
            raise _failure("list", prefix, exc) from exc

    def presigned_url(
        self, key: str, *, filename: str, content_type: str, expires_in: int
    ) -> str | None:
        params = {
            "Bucket": self.bucket,
            "Key": self._key(key),
            # Always a download: the bucket's origin serves it without Benben's sandboxing CSP.
            "ResponseContentDisposition": content_disposition("attachment", filename),
            "ResponseContentType": content_type,
        }
        try:
            url: str = self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires_in
            )
        except BotoCoreError as exc:  # no credentials to sign with
            raise _failure("presign", key, exc) from exc
        return url

    def check(self) -> None:
        self._call("head_bucket", "")

    def abort_stale_uploads(self, older_than: datetime.datetime) -> int:
        """Abort the multipart uploads under the prefix started before ``older_than`` (left by
        a process killed mid-upload); how many.  A bucket lifecycle rule
        (AbortIncompleteMultipartUpload) does the same on the provider's side."""
        aborted = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for upload in page.get("Uploads", ()):
                    if upload["Initiated"] < older_than:
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        aborted += 1
        except (BotoCoreError, ClientError) as exc:
            raise _failure("list uploads", self.prefix, exc) from exc
        return aborted
