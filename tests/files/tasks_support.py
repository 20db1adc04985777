"""Helpers of the worker tasks' tests (sweep, clean-up, thumbnails, inventory): people, records,
rows and objects written directly (what an upload leaves, or a crash), time moved forward."""

from __future__ import annotations

import datetime
import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import webtest

from benben.plugin import TaskContext
from benben.testing import feed_settled
from benben.testing_auth import add_user, bearer, login

HOUR = datetime.timedelta(hours=1)
LONG_AGO = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)


def admin(app: webtest.TestApp) -> dict[str, str]:
    """An administrator's headers."""
    add_user(app.app.registry, "root", is_admin=True)
    return bearer(login(app, "root")["access_token"])


def make_record(app: webtest.TestApp, headers: dict[str, str], cid: str, rid: str) -> int:
    """The record ``rid`` of collection ``cid`` (made if needed); its last_modified."""
    app.put_json(f"/api/v1/collections/{cid}", {}, headers=headers, status=(200, 201))
    url = f"/api/v1/collections/{cid}/records/{rid}"
    response = app.put_json(url, {"data": {"n": 1}}, headers=headers, status=(200, 201))
    return int(response.json["last_modified"])


@contextmanager
def transaction_of(registry: Any) -> Iterator[Any]:
    """A database session of the app, committed on exit."""
    with TaskContext(registry, "test").transaction() as request:
        yield request.dbsession


def storage_of(registry: Any) -> Any:
    from benben_files.storage import get_storage

    return get_storage(registry)


def store(registry: Any, data: bytes, kind: str = "blobs") -> str:
    """An object written to storage and named by no row (a rolled-back upload's); its key."""
    from benben_files.storage import new_key

    key = new_key(kind)
    storage_of(registry).write(key, [data], content_type="application/octet-stream")
    return key


def add_blob(
    registry: Any,
    data: bytes,
    *,
    last_used_at: datetime.datetime | None = None,
    content_type: str = "application/octet-stream",
) -> tuple[str, str]:
    """A stored content as an upload leaves it (object and Blob row): its sha256 and key."""
    from benben_files.models import Blob, utcnow

    key = store(registry, data)
    sha256 = hashlib.sha256(data).hexdigest()
    when = last_used_at or utcnow()
    with transaction_of(registry) as session:
        session.add(
            Blob(
                sha256=sha256,
                key=key,
                size=len(data),
                content_type=content_type,
                created_at=when,
                last_used_at=when,
            )
        )
    return sha256, key


def attach(
    registry: Any,
    cid: str,
    rid: str,
    name: str,
    sha256: str,
    size: int,
    *,
    last_modified: int = 1,
    content_type: str = "application/octet-stream",
) -> None:
    """An Attachment row (the record's member is not written: the tasks read the rows)."""
    from benben_files.models import Attachment

    with transaction_of(registry) as session:
        session.add(
            Attachment(
                collection_id=cid,
                record_id=rid,
                name=name,
                sha256=sha256,
                size=size,
                content_type=content_type,
                last_modified=last_modified,
            )
        )


def add_thumbnail(registry: Any, sha256: str, size: str, data: bytes = b"thumb") -> str:
    from benben_files.models import Thumbnail

    key = store(registry, data, "thumbnails")
    with transaction_of(registry) as session:
        session.add(
            Thumbnail(sha256=sha256, size=size, key=key, content_type="image/png", bytes=len(data))
        )
    return key


def rows(registry: Any, model: Any) -> list[Any]:
    """Every row of ``model``, detached (plain tuples of its columns)."""
    from sqlalchemy import select

    with transaction_of(registry) as session:
        return [tuple(row) for row in session.execute(select(*model.__table__.c)).all()]


def keys(registry: Any, prefix: str = "") -> set[str]:
    """The keys of the objects in storage under ``prefix``."""
    return {item.key for item in storage_of(registry).iter_objects(prefix)}


def exists(registry: Any, key: str) -> bool:
    try:
        b"".join(storage_of(registry).read(key))
    except FileNotFoundError:
        return False
    return True


def later(monkeypatch: pytest.MonkeyPatch, hours: float) -> datetime.datetime:
    """Make the tasks' clock ``hours`` ahead of now; the moment it then says."""
    import benben_files.cleanup
    from benben_files.models import utcnow

    moment = utcnow() + datetime.timedelta(hours=hours)
    monkeypatch.setattr(benben_files.cleanup, "utcnow", lambda: moment)
    return moment


def events(app: webtest.TestApp, headers: dict[str, str], event_type: str) -> list[dict[str, Any]]:
    """The feed's events of ``event_type`` (as an administrator reads them)."""
    feed_settled(app.app.registry)
    page = app.get("/api/v1/events", {"type": event_type, "_limit": "1000"}, headers=headers)
    return list(page.json["data"])


def random_bytes(size: int = 64) -> bytes:
    return (uuid.uuid4().bytes * (size // 16 + 1))[:size]


def files_command(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: dict[str, Any],
    *argv: str,
) -> tuple[int, str]:
    """``benben files <argv>`` (its parser from the plugin's ``register``) on the app's
    settings as ``BENBEN_*`` variables: its exit code and output."""
    import argparse
    import os

    from benben.settings import env_name
    from benben_files.cli import register

    for name in list(os.environ):
        if name.startswith("BENBEN_") and not name.startswith("BENBEN_TEST_"):
            monkeypatch.delenv(name)
    for key, value in settings.items():
        monkeypatch.setenv(env_name(key), str(value))
    parser = argparse.ArgumentParser(prog="benben files")
    register(parser)
    args = parser.parse_args(list(argv))
    capsys.readouterr()
    code = int(args.handler(args))
    return code, capsys.readouterr().out
