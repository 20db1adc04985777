"""Fixtures of the files plugin's tests: apps on both databases and both storage backends.

Every test using ``app`` (or ``make_app``) runs twice, the storage paired with the database:

- ``sqlite-memory``: the local disk (``files`` in the test's data directory);
- ``postgresql-redis``: S3, a bucket of the test's own on moto's server (:mod:`s3_support`).

``storage_kind`` says which one the current test runs on ("local" or "s3").  A test wanting
the full 2x2 matrix (each database with each storage) asks for it explicitly::

    @pytest.mark.parametrize("storage_kind", ["local", "s3"], indirect=True)
    def test_something(app, storage_kind): ...

and one storage only the same way (``["s3"]``).  Other fixtures:

- ``s3_endpoint``, ``s3_client`` (boto3, to look behind Benben's back), ``s3_bucket`` (a new
  bucket, removed after the test): the moto server starts with the first test needing it;
- ``storage_settings``: the ``benben.files.*`` settings of this test's storage (to build
  another app with ``make_app({**storage_settings, ...})``, already in ``app_settings``);
- ``app_storage``: the app's backend (``get_storage(registry)``), to look at stored objects;
- ``backend_storage``: a backend built directly, without an app, on each storage in turn
  (the storage contract tests).

Without moto, S3 tests skip locally and fail in CI (``CI=true``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest
from s3_support import MotoServer, client, new_bucket, remove_bucket, s3_settings

from benben.testing import Backends
from benben.testing_auth import FAST_PASSWORD_HASHING

STORAGE_KINDS = ("local", "s3")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_endpoint(moto_server: MotoServer) -> str:
    """The test S3 server's URL (``http://127.0.0.1:<port>``)."""
    return moto_server.endpoint_url


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str) -> Any:
    """A boto3 client of the test server."""
    return client(s3_endpoint)


@pytest.fixture
def s3_bucket(s3_client: Any) -> Iterator[str]:
    """A new bucket for this test, emptied and removed afterwards."""
    bucket = new_bucket(s3_client)
    try:
        yield bucket
    finally:
        remove_bucket(s3_client, bucket)


@pytest.fixture
def storage_kind(request: pytest.FixtureRequest, backends: Backends) -> str:
    """ "local" or "s3": the parameter when the test asks for one (indirect parametrization),
    else the one paired with the database (SQLite: local, PostgreSQL: S3)."""
    kind = getattr(request, "param", None)
    if kind is None:
        kind = "local" if backends.database == "sqlite" else "s3"
    if kind not in STORAGE_KINDS:
        raise ValueError(f"storage_kind must be one of {STORAGE_KINDS}, not {kind!r}")
    return str(kind)


@pytest.fixture
def storage_settings(request: pytest.FixtureRequest, storage_kind: str) -> dict[str, Any]:
    """The ``benben.files.*`` settings of this test's storage."""
    if storage_kind == "local":
        return {"benben.files.storage": "local"}  # the default path: files in the data dir
    endpoint = request.getfixturevalue("s3_endpoint")
    return s3_settings(endpoint, request.getfixturevalue("s3_bucket"))


@pytest.fixture
def app_settings(backends: Backends, storage_settings: dict[str, Any]) -> dict[str, Any]:
    """This run's backends and storage, cheap password hashing."""
    return {**backends.settings(), **FAST_PASSWORD_HASHING, **storage_settings}


@pytest.fixture
def app_storage(app: webtest.TestApp) -> Any:
    """The app's storage backend."""
    from benben_files.storage import get_storage

    return get_storage(app.app.registry)


@pytest.fixture(params=STORAGE_KINDS)
def backend_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A storage backend without an app: the local disk under ``tmp_path / "files"``, or S3 on
    a bucket of the test's own (5 MiB parts)."""
    if request.param == "local":
        from benben_files.storage.local import LocalStorage

        root = tmp_path / "files"
        root.mkdir()
        return LocalStorage(root)
    from s3_support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

    from benben_files.storage.s3 import S3Storage

    return S3Storage(
        request.getfixturevalue("s3_bucket"),
        part_size=5 * 1024 * 1024,
        endpoint_url=request.getfixturevalue("s3_endpoint"),
        region=REGION,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        addressing_style="path",
    )


@pytest.fixture
def who(app: webtest.TestApp) -> Any:
    """files_support's people, logged in, and alice's record books/dune to attach files to."""
    from files_support import create_record, people

    found = people(app)
    create_record(app, found.alice)
    return found
