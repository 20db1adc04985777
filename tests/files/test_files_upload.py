"""Uploads: raw and multipart bodies streamed to storage, sha256 and sniffed type in the JSON,
the record's member and version moved, deduplication, replays, rollback, events."""

from __future__ import annotations

import os
from typing import Any

import pytest
import webtest
from files_support import (
    People,
    attachment_rows,
    attachments_url,
    blob_rows,
    create_record,
    png_bytes,
    read_object,
    set_policy,
    sha256,
    stored_keys,
    upload_form,
    upload_raw,
)

from benben.testing import feed_settled


def record(app: webtest.TestApp, headers: dict[str, str], rid: str = "dune") -> Any:
    return app.get(f"/api/v1/collections/books/records/{rid}", headers=headers)


def test_raw_upload_round_trip(app: webtest.TestApp, who: People, app_storage: Any) -> None:
    before = record(app, who.alice)
    content = os.urandom(300_000) + b"end"
    response = upload_raw(app, who.alice, content, name="data.bin")
    shown = response.json
    assert shown["sha256"] == sha256(content)
    assert shown["size"] == len(content)
    assert shown["content_type"] == "application/octet-stream"
    assert shown["href"] == "/api/v1/collections/books/records/dune/attachments/data.bin"
    assert response.headers["Location"].endswith(shown["href"])
    after = record(app, who.alice)
    assert response.headers["ETag"] == after.headers["ETag"] != before.headers["ETag"]
    assert after.json["last_modified"] > before.json["last_modified"]
    assert after.json["attachments"] == {"data.bin": shown}
    blob = blob_rows(app.app.registry)[shown["sha256"]]
    assert read_object(app_storage, blob["key"]) == content
    assert stored_keys(app_storage) == {blob["key"]}
    rows = attachment_rows(app.app.registry)
    assert rows[("dune", "data.bin")]["sha256"] == sha256(content)
    # The download serves the same bytes.
    downloaded = app.get(attachments_url(name="data.bin"), headers=who.alice)
    assert downloaded.body == content


def test_multipart_upload_named_by_filename_or_field(app: webtest.TestApp, who: People) -> None:
    png = png_bytes()
    shown = upload_form(app, who.alice, png, filename="C:\\fakepath\\cover.png").json
    assert shown["name"] == "cover.png"
    assert shown["content_type"] == "image/png"
    assert shown["sha256"] == sha256(png)
    renamed = upload_form(app, who.alice, b"notes", filename="x.txt", name="Read me.txt").json
    assert renamed["name"] == "Read me.txt"
    assert renamed["href"].endswith("/attachments/Read%20me.txt")
    assert app.get(renamed["href"], headers=who.alice).body == b"notes"
    listed = app.get(attachments_url(), headers=who.alice).json
    assert [item["name"] for item in listed["data"]] == ["Read me.txt", "cover.png"]
    assert listed["next"] is None


def test_name_from_content_disposition(app: webtest.TestApp, who: People) -> None:
    disposition = {"Content-Disposition": "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"}
    shown = upload_raw(app, who.alice, b"cv", name=None, extra_headers=disposition).json
    assert shown["name"] == "résumé.txt"
    problem = upload_raw(app, who.alice, b"cv", name=None, status=400).json
    assert problem["errors"][0]["name"] == "name"


def test_taken_name_is_409_and_put_replaces(
    app: webtest.TestApp, who: People, app_storage: Any
) -> None:
    upload_raw(app, who.alice, b"one", name="a.txt")
    keys = stored_keys(app_storage)
    problem = upload_raw(app, who.alice, b"two", name="a.txt", status=409).json
    assert problem["errors"] == [{"location": "querystring", "name": "name", "message": "is taken"}]
    assert stored_keys(app_storage) == keys  # refused before anything was stored
    replaced = upload_raw(app, who.alice, b"two!", name="a.txt", put=True, status=200)
    assert replaced.json["sha256"] == sha256(b"two!")
    created = upload_raw(app, who.alice, b"three", name="b.txt", put=True, status=201)
    assert created.json["size"] == 5
    attachments = record(app, who.alice).json["attachments"]
    assert sorted(attachments) == ["a.txt", "b.txt"]
    assert attachments["a.txt"]["size"] == 4
    form = upload_form(app, who.alice, b"four", put_name="a.txt", status=200).json
    assert form["name"] == "a.txt"
    assert form["sha256"] == sha256(b"four")


def test_delete(app: webtest.TestApp, who: People) -> None:
    upload_raw(app, who.alice, b"one", name="a.txt")
    upload_raw(app, who.alice, b"two", name="b.txt")
    response = app.delete(attachments_url(name="a.txt"), headers=who.alice)
    after = record(app, who.alice)
    assert response.json == {
        "name": "a.txt",
        "deleted": True,
        "last_modified": after.json["last_modified"],
    }
    assert response.headers["ETag"] == after.headers["ETag"]
    assert list(after.json["attachments"]) == ["b.txt"]
    assert ("dune", "a.txt") not in attachment_rows(app.app.registry)
    app.delete(attachments_url(name="a.txt"), headers=who.alice, status=404)
    app.delete(attachments_url(name="b.txt"), headers=who.alice)
    assert "attachments" not in record(app, who.alice).json


def test_identical_contents_are_stored_once(
    app: webtest.TestApp, who: People, app_storage: Any
) -> None:
    content = os.urandom(5000)
    upload_raw(app, who.alice, content, name="a.bin")
    upload_raw(app, who.alice, content, name="b.bin")
    create_record(app, who.alice, rid="other")
    upload_raw(app, who.alice, content, name="c.bin", rid="other")
    blobs = blob_rows(app.app.registry)
    assert list(blobs) == [sha256(content)]
    # The objects written by the later uploads went after their commit.
    assert stored_keys(app_storage) == {blobs[sha256(content)]["key"]}
    assert len(attachment_rows(app.app.registry)) == 3


def test_since_lists_the_record_changed_by_an_upload(app: webtest.TestApp, who: People) -> None:
    create_record(app, who.alice, rid="untouched")
    version = record(app, who.alice, "untouched").json["last_modified"]
    upload_raw(app, who.alice, b"x", name="x.txt")
    since = app.get(f"/api/v1/collections/books/records?_since={version}", headers=who.alice).json[
        "data"
    ]
    assert [item["id"] for item in since] == ["dune"]
    assert "x.txt" in since[0]["attachments"]


def test_preconditions_on_the_records_etag(app: webtest.TestApp, who: People) -> None:
    etag = record(app, who.alice).headers["ETag"]
    stale = {"If-Match": '"1"'}
    problem = upload_raw(app, who.alice, b"x", name="x.txt", extra_headers=stale, status=412)
    assert problem.headers["ETag"] == etag
    assert problem.json["errors"][0]["name"] == "If-Match"
    done = upload_raw(app, who.alice, b"x", name="x.txt", extra_headers={"If-Match": etag})
    create_only = {"If-None-Match": "*"}
    upload_raw(app, who.alice, b"y", name="x.txt", put=True, extra_headers=create_only, status=412)
    upload_raw(app, who.alice, b"y", name="y.txt", put=True, extra_headers=create_only)
    new_etag = record(app, who.alice).headers["ETag"]
    app.delete(attachments_url(name="x.txt"), headers={**who.alice, "If-Match": etag}, status=412)
    app.delete(attachments_url(name="x.txt"), headers={**who.alice, "If-Match": new_etag})
    assert done.headers["ETag"] != new_etag


def test_policy_schema_refusal_rolls_back(
    app: webtest.TestApp, who: People, app_storage: Any
) -> None:
    """A failure after the bytes were stored (the schema refuses the name): no row, no member,
    and the object is gone (refusals delete it at once; other failures leave it to the sweep)."""
    schema = {"propertyNames": {"pattern": "^[^.]+\\.png$"}}
    set_policy(app, who.alice, schema=schema)
    before = record(app, who.alice)
    problem = upload_raw(app, who.alice, b"text", name="a.txt", status=400).json
    assert problem["errors"][0]["pointer"].startswith("/attachments")
    assert attachment_rows(app.app.registry) == {}
    assert blob_rows(app.app.registry) == {}
    after = record(app, who.alice)
    assert "attachments" not in after.json
    assert after.headers["ETag"] == before.headers["ETag"]
    assert stored_keys(app_storage) == set()
    upload_raw(app, who.alice, png_bytes(), name="a.png")


# On SQLite the upload's transaction holds the write lock the racing change would need: the
# race this proves exists on PostgreSQL only.
@pytest.mark.parametrize("backends", [("postgresql", "redis")], indirect=True, ids=["postgresql"])
def test_a_replayed_upload_reuses_what_its_first_attempt_stored(
    app: webtest.TestApp,
    who: People,
    app_storage: Any,
    backends: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """set_record_member replays the request when the record changed meanwhile: the body is
    not read again, the first attempt's object is the one kept.  (PostgreSQL: on SQLite the
    upload's transaction holds the write lock the racing change would need.)"""
    import benben_files.attachments as attachments_module
    from benben_files import uploads

    reads = []
    real_receive = uploads.receive_upload

    def counting(request: Any, *args: Any, **kwargs: Any) -> Any:
        reads.append(uploads.UPLOAD_KEY in request.environ)
        return real_receive(request, *args, **kwargs)

    changed = []
    real_set = attachments_module.set_record_member

    def racing(request: Any, context: Any, name: str, value: Any) -> Any:
        if not changed:  # another writer changes the record under the first attempt
            changed.append(True)
            url = "/api/v1/collections/books/records/dune"
            app.patch_json(url, {"data": {"title": "changed"}}, headers=who.alice)
        return real_set(request, context, name, value)

    monkeypatch.setattr("benben_files.api_attachments.receive_upload", counting)
    monkeypatch.setattr(attachments_module, "set_record_member", racing)
    content = os.urandom(1000)
    shown = upload_raw(app, who.alice, content, name="r.bin").json
    assert reads == [False, True]
    assert record(app, who.alice).json["data"] == {"title": "changed"}
    blob = blob_rows(app.app.registry)[sha256(content)]
    assert stored_keys(app_storage) == {blob["key"]}
    assert read_object(app_storage, blob["key"]) == content
    assert shown["sha256"] == sha256(content)


def test_events_are_published(app: webtest.TestApp, who: People) -> None:
    upload_raw(app, who.alice, b"one", name="a.txt")
    upload_raw(app, who.alice, b"two", name="a.txt", put=True, status=200)
    app.delete(attachments_url(name="a.txt"), headers=who.alice)
    feed_settled(app.app.registry)
    events = app.get("/api/v1/events?_limit=100", headers=who.admin).json["data"]
    ours = [event for event in events if event["type"].startswith("attachment.")]
    assert [event["type"] for event in ours] == [
        "attachment.created",
        "attachment.updated",
        "attachment.deleted",
    ]
    created = ours[0]["data"]
    assert created["attachment"]["sha256"] == sha256(b"one")
    assert (created["collection"], created["id"]) == ("books", "dune")
    assert ours[2]["data"]["attachment"]["name"] == "a.txt"
    assert ours[2]["data"]["last_modified"] > created["last_modified"]


def test_storage_failure_is_a_503(
    app: webtest.TestApp, who: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benben_files.storage import StorageError, get_storage

    storage = get_storage(app.app.registry)

    def failing(key: str, chunks: Any, *, content_type: str) -> int:
        for _ in chunks:
            raise StorageError("disk full")
        return 0

    monkeypatch.setattr(storage, "write", failing)
    problem = upload_raw(app, who.alice, b"data", name="a.bin", status=503)
    assert problem.headers["Content-Type"] == "application/problem+json"
    assert attachment_rows(app.app.registry) == {}
    assert "attachments" not in record(app, who.alice).json


def test_a_body_ending_early_is_a_400_and_stores_nothing(
    app: webtest.TestApp, who: People, app_storage: Any
) -> None:
    """A client gone before sending its Content-Length's bytes (as a server hands on a
    spooled body: seekable, so neither webtest's lint nor pyramid_retry wraps or copies it)."""
    import io

    url = attachments_url() + "?name=cut.bin"
    request = webtest.TestRequest.blank(url, method="POST", headers=who.alice)
    request.environ["wsgi.input"] = io.BytesIO(os.urandom(1000))
    request.environ["CONTENT_LENGTH"] = "5000"
    request.environ["CONTENT_TYPE"] = "application/octet-stream"
    unwrapped = webtest.TestApp(app.app, lint=False)
    problem = unwrapped.do_request(request, status=400, expect_errors=True).json
    assert "Content-Length" in problem["detail"]
    assert stored_keys(app_storage) == set()
    assert attachment_rows(app.app.registry) == {}
