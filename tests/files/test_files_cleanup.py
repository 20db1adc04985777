"""Files of deleted records and collections: removed by the worker once the delete committed
(files.cleanup, sent by the listener), announced by attachment.deleted; contents used within
the grace period are left to the sweep."""

from __future__ import annotations

from typing import Any

from files_support import attachment_rows, blob_rows, create_record, people, set_policy, upload_raw
from sqlalchemy import update
from tasks_support import LONG_AGO, events, exists, later, rows, transaction_of

from benben.plugin import TaskContext
from benben.testing import run_periodic_tasks, run_queued_tasks


def age_blobs(registry: Any) -> None:
    """Every blob last used long ago (beyond the grace period)."""
    from benben_files.models import Blob

    with transaction_of(registry) as session:
        session.execute(update(Blob).values(last_used_at=LONG_AGO))


def test_a_deleted_records_files_go_after_the_commit(app, monkeypatch):
    registry = app.app.registry
    who = people(app)
    create_record(app, who.alice, "books", "dune")
    create_record(app, who.alice, "books", "emma")
    dune = upload_raw(app, who.alice, b"dune's map", name="map.txt").json
    upload_raw(app, who.alice, b"emma's letter", name="letter.txt", rid="emma")
    run_queued_tasks(registry)
    key = blob_rows(registry)[dune["sha256"]]["key"]

    app.delete("/api/v1/collections/books/records/dune", headers=who.alice)
    assert ("dune", "map.txt") in attachment_rows(registry)  # the worker has not run yet
    assert run_queued_tasks(registry) == 1
    assert set(attachment_rows(registry)) == {("emma", "letter.txt")}
    (event,) = events(app, who.admin, "attachment.deleted")
    assert event["actor"] is None
    assert event["data"]["collection"] == "books"
    assert event["data"]["id"] == "dune"
    assert event["data"]["name"] == "map.txt"
    assert event["data"]["sha256"] == dune["sha256"]
    assert event["data"]["href"] == "/api/v1/collections/books/records/dune/attachments/map.txt"
    # Uploaded moments ago: an upload of the same content may be referencing it; the sweep
    # removes it once the grace period is over.
    assert dune["sha256"] in blob_rows(registry)
    assert exists(registry, key)
    later(monkeypatch, 25)
    run_periodic_tasks(registry, "files.sweep")
    assert not exists(registry, key)
    assert dune["sha256"] not in blob_rows(registry)
    assert len(blob_rows(registry)) == 1


def test_content_unused_for_the_grace_period_goes_at_once(app):
    registry = app.app.registry
    who = people(app)
    create_record(app, who.alice, "books", "dune")
    create_record(app, who.alice, "books", "emma")
    first = upload_raw(app, who.alice, b"only dune has this", name="a.txt").json
    shared = upload_raw(app, who.alice, b"both have this", name="b.txt").json
    upload_raw(app, who.alice, b"both have this", name="b.txt", rid="emma")
    run_queued_tasks(registry)
    keys = {sha: blob["key"] for sha, blob in blob_rows(registry).items()}
    age_blobs(registry)
    app.delete("/api/v1/collections/books/records/dune", headers=who.alice)
    run_queued_tasks(registry)
    assert not exists(registry, keys[first["sha256"]])
    assert exists(registry, keys[shared["sha256"]])  # emma still has it
    assert set(blob_rows(registry)) == {shared["sha256"]}


def test_a_deleted_collections_files_and_policy_go(app):
    from benben_files.models import Policy

    registry = app.app.registry
    who = people(app)
    create_record(app, who.alice, "books", "dune")
    create_record(app, who.alice, "books", "emma")
    create_record(app, who.alice, "films", "alien")
    set_policy(app, who.alice, "books", max_file_size=1000)
    set_policy(app, who.alice, "films", max_file_size=2000)
    upload_raw(app, who.alice, b"1", name="one.txt")
    upload_raw(app, who.alice, b"2", name="two.txt", rid="emma")
    upload_raw(app, who.alice, b"3", name="three.txt", cid="films", rid="alien")
    run_queued_tasks(registry)
    age_blobs(registry)
    app.delete("/api/v1/collections/books", headers=who.alice)
    run_queued_tasks(registry)
    assert attachment_rows(registry, "books") == {}
    assert set(attachment_rows(registry, "films")) == {("alien", "three.txt")}
    assert [row[0] for row in rows(registry, Policy)] == ["films"]
    deleted = events(app, who.admin, "attachment.deleted")
    assert sorted(event["data"]["name"] for event in deleted) == ["one.txt", "two.txt"]
    assert len(blob_rows(registry)) == 1


def test_a_record_created_again_keeps_only_its_own_files(app):
    registry = app.app.registry
    who = people(app)
    create_record(app, who.alice, "books", "dune")
    upload_raw(app, who.alice, b"old", name="old.txt")
    upload_raw(app, who.alice, b"kept name, old content", name="same.txt")
    run_queued_tasks(registry)
    app.delete("/api/v1/collections/books/records/dune", headers=who.alice)
    # Created again, with files, before the worker cleaned up after the delete.
    create_record(app, who.alice, "books", "dune")
    new = upload_raw(app, who.alice, b"new", name="new.txt").json
    same = upload_raw(app, who.alice, b"kept name, new content", name="same.txt").json
    run_queued_tasks(registry)
    files = attachment_rows(registry)
    assert set(files) == {("dune", "new.txt"), ("dune", "same.txt")}
    assert files["dune", "new.txt"]["sha256"] == new["sha256"]
    assert files["dune", "same.txt"]["sha256"] == same["sha256"]
    record = app.get("/api/v1/collections/books/records/dune", headers=who.alice).json
    assert set(record["attachments"]) == {"new.txt", "same.txt"}


def test_the_clean_up_may_run_twice(app):
    from benben_files.cleanup import cleanup_task

    registry = app.app.registry
    who = people(app)
    create_record(app, who.alice, "books", "dune")
    upload_raw(app, who.alice, b"content", name="a.txt")
    run_queued_tasks(registry)
    age_blobs(registry)
    deleted = app.delete("/api/v1/collections/books/records/dune", headers=who.alice).json
    ctx = TaskContext(registry, "files.cleanup")
    before = deleted["last_modified"]
    first = cleanup_task(ctx, "books", ["dune"], before)
    again = cleanup_task(ctx, "books", ["dune"], before)
    assert first == {"attachments": 1, "objects": 1, "bytes": 7}
    assert again == {"attachments": 0, "objects": 0, "bytes": 0}
    run_queued_tasks(registry)  # the listener's own: nothing left to do
    assert len(events(app, who.admin, "attachment.deleted")) == 1


def test_deleting_what_has_no_files_sends_no_task(app):
    registry = app.app.registry
    who = people(app)
    create_record(app, who.alice, "books", "dune")
    create_record(app, who.alice, "books", "emma")
    upload_raw(app, who.alice, b"content", name="a.txt", rid="emma")
    run_queued_tasks(registry)
    app.delete("/api/v1/collections/books/records/dune", headers=who.alice)
    assert run_queued_tasks(registry) == 0
    app.delete("/api/v1/collections/books/records/emma", headers=who.alice)
    assert run_queued_tasks(registry) == 1


def test_a_deleted_collections_policy_goes_without_files(app):
    from benben_files.models import Policy

    registry = app.app.registry
    who = people(app)
    create_record(app, who.alice, "books", "dune")
    set_policy(app, who.alice, "books", max_file_size=1000)
    app.delete("/api/v1/collections/books", headers=who.alice)
    assert run_queued_tasks(registry) == 1
    assert rows(registry, Policy) == []


def test_a_record_created_again_never_serves_its_predecessors_files(app):
    # The clean-up has not run (a lost message): the rows of the deleted record are still there.
    who = people(app)
    create_record(
        app, who.alice, "books", "dune", collection_permissions={"create": ["system.Authenticated"]}
    )
    upload_raw(app, who.alice, b"alice's secret", name="notes.txt")
    app.delete("/api/v1/collections/books/records/dune", headers=who.alice)
    app.put_json("/api/v1/collections/books/records/dune", {"data": {}}, headers=who.bob)
    assert ("dune", "notes.txt") in attachment_rows(app.app.registry)
    url = "/api/v1/collections/books/records/dune/attachments/notes.txt"
    app.get(url, headers=who.bob, status=404)
    assert app.get(url.rsplit("/", 1)[0], headers=who.bob).json["data"] == []


def test_the_sweep_removes_a_deleted_collections_policy_whose_clean_up_was_lost(app):
    from benben_files.models import Policy

    registry = app.app.registry
    who = people(app)
    create_record(app, who.alice, "books", "dune")
    set_policy(app, who.alice, "books", max_file_size=1000)
    app.delete("/api/v1/collections/books", headers=who.alice)
    # The clean-up is still queued (as if lost): the sweep alone removes the policy.
    assert [row[0] for row in rows(registry, Policy)] == ["books"]
    run_periodic_tasks(registry, "files.sweep")
    assert rows(registry, Policy) == []
    # A collection created again under the id starts with the default policy.
    create_record(app, who.bob, "books", "emma")
    policy = app.get("/api/v1/collections/books/attachment-policy", headers=who.bob).json
    assert policy["max_file_size"] is None
