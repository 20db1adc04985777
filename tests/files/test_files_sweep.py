"""The orphan sweep (files.sweep): what nothing references goes once older than the grace
period, what is referenced or recent stays, an upload referencing a blob during a sweep keeps
it (on both databases and both storages)."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import pytest
from tasks_support import (
    HOUR,
    LONG_AGO,
    add_blob,
    add_thumbnail,
    admin,
    attach,
    events,
    exists,
    files_command,
    keys,
    later,
    make_record,
    random_bytes,
    rows,
    store,
    transaction_of,
)

from benben.plugin import TaskContext
from benben.testing import run_periodic_tasks


def sweep(registry: Any, **kwargs: Any) -> dict[str, int]:
    from benben_files.sweep import sweep as run

    return run(TaskContext(registry, "files.sweep"), **kwargs).as_dict()


def test_an_object_no_row_names_goes_only_after_the_grace(app, monkeypatch):
    registry = app.app.registry
    data = random_bytes(1000)
    key = store(registry, data)  # a rolled-back upload's object
    assert run_periodic_tasks(registry, "files.sweep") == 1
    assert exists(registry, key), "removed within the grace period"
    later(monkeypatch, 25)  # the grace is 24 hours by default
    run_periodic_tasks(registry, "files.sweep")
    assert not exists(registry, key)
    assert keys(registry, "blobs/") == set()


def test_the_report_counts_what_went(app, monkeypatch):
    registry = app.app.registry
    orphan = store(registry, b"x" * 300)
    thumb = store(registry, b"t" * 20, "thumbnails")
    _sha, blob_key = add_blob(registry, b"y" * 50, last_used_at=LONG_AGO)
    moment = later(monkeypatch, 25)
    report = sweep(registry, now=moment)
    assert report == {"attachments": 0, "blobs": 1, "objects": 3, "bytes": 370}
    assert not any(exists(registry, k) for k in (orphan, thumb, blob_key))
    assert sweep(registry, now=moment) == {"attachments": 0, "blobs": 0, "objects": 0, "bytes": 0}


def test_a_referenced_blob_is_never_removed(app, monkeypatch):
    registry = app.app.registry
    headers = admin(app)
    make_record(app, headers, "docs", "r1")
    data = random_bytes(500)
    sha, key = add_blob(registry, data, last_used_at=LONG_AGO)
    attach(registry, "docs", "r1", "a.bin", sha, len(data))
    thumb = add_thumbnail(registry, sha, "100x100")
    later(monkeypatch, 24 * 365)
    run_periodic_tasks(registry, "files.sweep")
    assert exists(registry, key)
    assert exists(registry, thumb)
    from benben_files.models import Attachment, Blob

    assert [row[0] for row in rows(registry, Blob)] == [sha]
    assert len(rows(registry, Attachment)) == 1


def test_an_unreferenced_blob_goes_with_its_thumbnails_after_the_grace(app, monkeypatch):
    from benben_files.models import Blob, Thumbnail

    registry = app.app.registry
    sha, key = add_blob(registry, b"old content")
    thumb = add_thumbnail(registry, sha, "100x100")
    later(monkeypatch, 23)  # last used 23 hours ago: still within the grace
    run_periodic_tasks(registry, "files.sweep")
    assert exists(registry, key)
    assert len(rows(registry, Blob)) == 1
    later(monkeypatch, 25)
    run_periodic_tasks(registry, "files.sweep")
    assert rows(registry, Blob) == []
    assert rows(registry, Thumbnail) == []
    assert not exists(registry, key)
    assert not exists(registry, thumb)


def test_attachments_of_records_gone_are_removed_and_announced(app, monkeypatch):
    """A delete whose clean-up was lost (a crash after the commit): the sweep finds them."""
    from benben_files.models import Attachment, Blob

    registry = app.app.registry
    headers = admin(app)
    make_record(app, headers, "docs", "alive")
    sha, key = add_blob(registry, b"shared", last_used_at=LONG_AGO)
    attach(registry, "docs", "alive", "a.txt", sha, 6)
    attach(registry, "docs", "gone", "b.txt", sha, 6)  # no such record
    attach(registry, "nowhere", "r", "c.txt", sha, 6)  # no such collection
    run_periodic_tasks(registry, "files.sweep")
    assert [row[:3] for row in rows(registry, Attachment)] == [("docs", "alive", "a.txt")]
    assert exists(registry, key)
    assert len(rows(registry, Blob)) == 1
    deleted = events(app, headers, "attachment.deleted")
    names = sorted((e["data"]["collection"], e["data"]["id"], e["data"]["name"]) for e in deleted)
    assert names == [
        ("docs", "gone", "b.txt"),
        ("nowhere", "r", "c.txt"),
    ]
    assert all(e["actor"] is None and e["data"]["sha256"] == sha for e in deleted)
    app.delete("/api/v1/collections/docs/records/alive", headers=headers)
    later(monkeypatch, 25)
    run_periodic_tasks(registry, "files.sweep")  # the clean-up and the sweep together
    assert rows(registry, Attachment) == []
    assert rows(registry, Blob) == []
    assert not exists(registry, key)


def test_a_dry_run_removes_nothing(app, monkeypatch):
    from benben_files.models import Attachment, Blob

    registry = app.app.registry
    orphan = store(registry, b"z" * 10)
    sha, key = add_blob(registry, b"w" * 7, last_used_at=LONG_AGO)
    attach(registry, "nowhere", "r", "c.txt", sha, 7)
    moment = later(monkeypatch, 25)
    report = sweep(registry, now=moment, dry_run=True)
    assert report == {"attachments": 1, "blobs": 0, "objects": 1, "bytes": 10}
    assert exists(registry, orphan)
    assert exists(registry, key)
    assert len(rows(registry, Attachment)) == 1
    assert len(rows(registry, Blob)) == 1


def test_many_objects_are_swept_in_batches(app, monkeypatch):
    import benben_files.sweep

    monkeypatch.setattr(benben_files.sweep, "_BATCH", 3)
    registry = app.app.registry
    orphans = {store(registry, b"o") for _ in range(7)}
    live = [add_blob(registry, random_bytes(8)) for _ in range(4)]
    moment = later(monkeypatch, 1)
    for sha, _key in live:
        attach(registry, "nowhere", sha[:8], "f", sha, 8)
    report = sweep(registry, now=moment + 25 * HOUR)
    assert report["objects"] == 7 + 4
    assert report["attachments"] == 4
    assert not (orphans | {key for _sha, key in live}) & keys(registry)


@pytest.mark.parametrize("upload_commits", [True, False])
def test_an_upload_referencing_a_blob_during_the_sweep_keeps_it(app, monkeypatch, upload_commits):
    """The upload locks the blob row and sets last_used_at (models.py); the sweep's DELETE
    waits for that lock and re-checks its condition: the blob stays.  Rolled back, the upload
    referenced nothing: the blob goes."""
    from sqlalchemy import select

    from benben_files.models import Attachment, Blob, utcnow

    registry = app.app.registry
    headers = admin(app)
    make_record(app, headers, "docs", "r1")
    sha, key = add_blob(registry, b"popular", last_used_at=LONG_AGO)
    moment = later(monkeypatch, 1)
    swept: dict[str, Any] = {}
    started = threading.Event()

    def sweeper() -> None:
        started.set()
        swept.update(sweep(registry, now=moment))

    thread = threading.Thread(target=sweeper)
    failing = contextlib.nullcontext() if upload_commits else pytest.raises(RuntimeError)
    with failing, transaction_of(registry) as session:
        blob = session.scalars(select(Blob).where(Blob.sha256 == sha).with_for_update()).one()
        blob.last_used_at = utcnow()
        session.flush()
        thread.start()
        started.wait()
        time.sleep(0.3)  # the sweep reaches the locked row and waits
        assert thread.is_alive(), "the sweep did not wait for the upload's lock"
        session.add(
            Attachment(
                collection_id="docs",
                record_id="r1",
                name="p.txt",
                sha256=sha,
                size=7,
                content_type="text/plain",
                last_modified=1,
            )
        )
        if not upload_commits:
            raise RuntimeError("the upload fails")
    thread.join(30)
    assert not thread.is_alive()
    if upload_commits:
        assert exists(registry, key)
        assert [row[0] for row in rows(registry, Blob)] == [sha]
        assert swept["blobs"] == 0
    else:
        # Rolled back, its last_used_at is the old one again: the blob is an orphan.
        later(monkeypatch, 25)
        sweep(registry)
        assert not exists(registry, key)
        assert rows(registry, Blob) == []


def test_stored_bytes_and_removals_are_metrics(app, monkeypatch):
    registry = app.app.registry
    add_blob(registry, b"a" * 1234)
    store(registry, b"b" * 10)
    later(monkeypatch, 25)
    run_periodic_tasks(registry, "files.sweep")
    text = app.get("/metrics", extra_environ={"REMOTE_ADDR": "127.0.0.1"}).text
    assert "benben_files_orphans_removed_total 2.0" in text
    assert "benben_files_orphans_removed_bytes_total 1244.0" in text
    assert "benben_files_stored_bytes 0.0" in text


def test_the_sweep_command_reports_and_dry_runs(app, app_settings, monkeypatch, capsys):
    import json

    registry = app.app.registry
    key = store(registry, b"q" * 42)
    settings = {**app_settings, "benben.files.orphan_grace_hours": "0.01"}
    later(monkeypatch, 1)  # 36 s of grace are over, not 24 hours
    code, out = files_command(monkeypatch, capsys, settings, "sweep", "--dry-run", "--json")
    assert code == 0
    assert json.loads(out) == {
        "attachments": 0, "blobs": 0, "objects": 1, "bytes": 42, "dry_run": True
    }  # fmt: skip
    assert exists(registry, key)
    code, out = files_command(monkeypatch, capsys, settings, "sweep")
    assert code == 0
    assert out.startswith("removed 0 attachment(s) of deleted records, 0 unreferenced")
    assert "1 stored object(s), 42 bytes" in out
    assert not exists(registry, key)


@pytest.mark.parametrize("storage_kind", ["s3"], indirect=True)
def test_multipart_uploads_never_completed_are_aborted(app, s3_client, s3_bucket):
    # moto dates every multipart upload in 2010: the grace itself cannot be seen here.
    upload = s3_client.create_multipart_upload(Bucket=s3_bucket, Key="blobs/ab/abandoned")
    registry = app.app.registry
    sweep(registry, dry_run=True)
    pending = s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
    assert [item["UploadId"] for item in pending] == [upload["UploadId"]]
    sweep(registry)
    assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_an_upload_rolled_back_leaves_its_object_to_the_sweep(app, monkeypatch):
    from files_support import create_record, people, upload_raw

    import benben_files.attachments
    from benben_files.models import Attachment, Blob

    registry = app.app.registry
    who = people(app)
    create_record(app, who.alice, "books", "dune")

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away mid-request")

    monkeypatch.setattr(benben_files.attachments, "set_record_member", crash)
    upload_raw(app, who.alice, b"never committed", name="a.txt", status=500)
    monkeypatch.undo()
    (key,) = keys(registry, "blobs/")  # stored, then the transaction rolled back
    assert rows(registry, Blob) == []
    assert rows(registry, Attachment) == []
    run_periodic_tasks(registry, "files.sweep")
    assert exists(registry, key)
    later(monkeypatch, 25)
    run_periodic_tasks(registry, "files.sweep")
    assert keys(registry, "blobs/") == set()
