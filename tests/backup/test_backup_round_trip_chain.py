"""The issue's round trip, at CI size (benchmarks/backup.py runs a million records): a database
with records, users, groups, tokens, history, events, webhooks and attachments goes SQLite ->
archive -> PostgreSQL -> archive -> SQLite; every table is the same at each step, and the three
archives are the same bytes apart from the manifest's created_at."""

from __future__ import annotations

import contextlib
import json
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import webtest
from restore_support import PASSWORD, empty_target, fill, tables

from benben.backup.dump import create_backup
from benben.backup.restore import restore_archive
from benben.testing import Backends, SessionBackends, feed_settled
from benben.testing_auth import bearer, login

BULK_RECORDS = 1000  # in batches, as an import would write them
ATTACHMENTS = {"a.txt": b"first file\n", "b.bin": bytes(range(256)) * 40, "c.txt": b"first file\n"}


@contextlib.contextmanager
def sqlite_source(shared: SessionBackends, tmp_path: Path) -> Iterator[webtest.TestApp]:
    from benben.config import configure
    from benben.router import make_router

    backends = Backends("sqlite", "memory", tmp_path / f"source-{uuid.uuid4().hex[:8]}", shared)
    try:
        settings = {**backends.settings(), "benben.ratelimit.enabled": "false"}
        config = configure(settings, environ={}, entry_points=shared.plugin_entry_points())
        backends.track(config.registry)
        backends.migrate(config.registry)
        yield webtest.TestApp(make_router(config))
    finally:
        backends.close()


def fill_more(app: webtest.TestApp) -> dict[str, Any]:
    """Beyond fill(): a bulk collection, attachments (one content twice), a webhook endpoint
    with deliveries made and not sent."""
    from benben.plugin import TaskContext
    from benben_webhooks.tasks import FANOUT_TASK, fanout_task

    admin = bearer(login(app, "admin", PASSWORD)["access_token"])
    alice = bearer(login(app, "alice", PASSWORD)["access_token"])
    app.post_json("/api/v1/collections", {"id": "bulk"}, headers=admin)
    for start in range(0, BULK_RECORDS, 100):
        requests = [
            {
                "method": "PUT",
                "path": f"/api/v1/collections/bulk/records/r{number:05d}",
                "body": {"data": {"n": number, "text": f"lïne {number}", "tags": ["x", number]}},
            }
            for number in range(start, start + 100)
        ]
        app.post_json("/api/v1/batch", {"requests": requests}, headers=admin)
    record = app.get("/api/v1/collections/books/records", headers=alice).json["data"][0]["id"]
    url = f"/api/v1/collections/books/records/{record}/attachments"
    for name, content in ATTACHMENTS.items():
        headers = {**alice, "Content-Type": "application/octet-stream"}
        app.post(f"{url}?name={name}", content, headers=headers, status=201)
    hook = {
        "url": "https://hooks.example.org/benben",
        "event_types": ["record.*"],
        "collections": ["books"],
    }
    app.post_json("/api/v1/webhooks", hook, headers=alice, status=201)
    app.post_json("/api/v1/collections/books/records", {"data": {"n": 7}}, headers=alice)
    feed_settled(app.app.registry)
    assert fanout_task(TaskContext(app.app.registry, FANOUT_TASK)) >= 1
    return {"attachments": url}


def archive_bytes(path: str) -> tuple[bytes, str]:
    """The archive's bytes and its manifest's created_at."""
    with tarfile.open(path) as archive:
        manifest = archive.extractfile("manifest.json")
        assert manifest is not None
        created_at = json.load(manifest)["created_at"]
    return Path(path).read_bytes(), created_at


def same_apart_from_created_at(first: str, second: str) -> bool:
    (one, one_at), (two, two_at) = archive_bytes(first), archive_bytes(second)
    return one.replace(one_at.encode(), two_at.encode()) == two


def test_sqlite_to_postgresql_to_sqlite_keeps_every_table_and_the_archive(
    session_backends, tmp_path
):
    with sqlite_source(session_backends, tmp_path) as app:
        fill(app)
        made = fill_more(app)
        source = tables(app.app.registry)
        first = create_backup(app.app.registry, str(tmp_path / "from-sqlite.tar"))
        with empty_target(session_backends, tmp_path, "postgresql") as middle:
            restore_archive(middle.registry, first.location)
            assert tables(middle.registry) == source
            second = create_backup(middle.registry, str(tmp_path / "from-postgresql.tar"))
            with empty_target(session_backends, tmp_path, "sqlite") as last:
                restore_archive(last.registry, second.location)
                assert tables(last.registry) == source
                third = create_backup(last.registry, str(tmp_path / "back-in-sqlite.tar"))
                restored = last.app()
                alice = bearer(login(restored, "alice", PASSWORD)["access_token"])
                listed = restored.get(made["attachments"], headers=alice).json["data"]
                assert sorted(item["name"] for item in listed) == sorted(ATTACHMENTS)
                for name, content in ATTACHMENTS.items():
                    got = restored.get(f"{made['attachments']}/{name}", headers=alice)
                    assert got.body == content
                admin = bearer(login(restored, "admin", PASSWORD)["access_token"])
                page = restored.get("/api/v1/collections/bulk/records?_count=true", headers=admin)
                assert page.headers["Total-Records"] == str(BULK_RECORDS)

    counted = {
        table["name"]: table["rows"] for table in first.manifest["participants"][0]["tables"]
    }
    assert counted["benben_records"] > BULK_RECORDS
    assert counted["benben_history"] > BULK_RECORDS
    names = {participant["name"] for participant in first.manifest["participants"]}
    assert {"core", "files", "webhooks"} <= names
    files = next(p for p in first.manifest["participants"] if p["name"] == "files")
    assert files["files"]["count"] == 2  # one content twice, stored once
    webhooks = next(p for p in first.manifest["participants"] if p["name"] == "webhooks")
    assert {table["name"]: table["rows"] for table in webhooks["tables"]}[
        "webhooks_deliveries"
    ] >= 1
    assert same_apart_from_created_at(first.location, second.location)
    assert same_apart_from_created_at(second.location, third.location)
