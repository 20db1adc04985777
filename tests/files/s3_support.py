"""A real S3-compatible server for the files tests: moto's server mode, in this test process.

One server per test process (per xdist worker), started by the first test that needs it, on a
free loopback port; each test gets a bucket of its own (:func:`new_bucket`), emptied and removed
afterwards (moto keeps objects in memory).  Without moto a test needing S3 is skipped locally
and fails in CI (``CI=true``), as CI must test both storage backends.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from benben.testing import unavailable

REGION = "us-east-1"
# moto accepts any credentials; explicit ones keep the developer's AWS profile out of the tests.
ACCESS_KEY_ID = "benben-test"
SECRET_ACCESS_KEY = "benben-test-secret"


class MotoServer:
    """moto's threaded server on 127.0.0.1, on a port the system chose."""

    def __init__(self) -> None:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:
            unavailable(f"moto's server is not installed ({exc}): pip install 'moto[server]'")
            raise  # unreachable: unavailable() skips or fails
        # Werkzeug logs every request it serves: the tests' logs are about Benben.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.stop()


def client(endpoint_url: str) -> Any:
    """A boto3 client of the test server, to look at a bucket behind Benben's back."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def new_bucket(s3: Any) -> str:
    """A new, empty bucket's name."""
    name = f"benben-test-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


def remove_bucket(s3: Any, bucket: str) -> None:
    """Empty the bucket (objects and pending uploads) and delete it."""
    for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", ()):
        s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", ()):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)


def object_keys(s3: Any, bucket: str) -> list[str]:
    """Every key in the bucket, sorted."""
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(item["Key"] for item in page.get("Contents", ()))
    return sorted(keys)


def pending_uploads(s3: Any, bucket: str) -> list[dict[str, Any]]:
    """The bucket's multipart uploads in progress (neither completed nor aborted)."""
    uploads: list[dict[str, Any]] = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return uploads


def s3_settings(endpoint_url: str, bucket: str, **overrides: Any) -> dict[str, Any]:
    """The app settings of an S3 storage on the test server (5 MiB parts, S3's smallest, so
    that a few MiB test the multipart path)."""
    settings = {
        "benben.files.storage": "s3",
        "benben.files.s3.bucket": bucket,
        "benben.files.s3.endpoint_url": endpoint_url,
        "benben.files.s3.region": REGION,
        "benben.files.s3.access_key_id": ACCESS_KEY_ID,
        "benben.files.s3.secret_access_key": SECRET_ACCESS_KEY,
        "benben.files.s3.addressing_style": "path",
        "benben.files.s3.part_size": str(5 * 1024 * 1024),
    }
    settings.update(overrides)
    return settings
