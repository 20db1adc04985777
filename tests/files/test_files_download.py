"""Downloads of attachments: bytes and headers, HEAD, validators (304, 412), who may download,
query parameters, a missing object, streaming in chunks and a client gone midway."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
import webtest
from downloads_support import (
    ANONYMOUS,
    FailingStorage,
    People,
    TrackedStorage,
    attach,
    create_record,
    environ_of,
    metric,
    people,
    random_bytes,
)

from benben.testing_auth import bearer, login

FILE_HEADERS = (
    "Content-Type",
    "Content-Length",
    "ETag",
    "Last-Modified",
    "Accept-Ranges",
    "Cache-Control",
    "Content-Disposition",
    "Content-Security-Policy",
    "X-Content-Type-Options",
)


@pytest.fixture
def who(app: webtest.TestApp) -> People:
    who = people(app)
    create_record(app, who.alice)
    return who


def test_get_answers_the_bytes_with_the_file_headers(app: webtest.TestApp, who: People) -> None:
    stored = attach(app.app.registry, random_bytes(700_000), name="data.bin")
    response = app.get(stored.url(), headers=who.alice, status=200)
    assert response.body == stored.data
    assert hashlib.sha256(response.body).hexdigest() == stored.sha256
    headers = response.headers
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Length"] == "700000"
    assert headers["ETag"] == f'"{stored.sha256}"'
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Cache-Control"] == "private, no-cache"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert headers["Content-Disposition"].startswith('attachment; filename="data.bin"')
    assert response.last_modified.timestamp() == stored.last_modified // 1000


def test_head_has_the_headers_of_get_and_no_body(app: webtest.TestApp, who: People) -> None:
    stored = attach(app.app.registry, b"%PDF-1.7 not really", name="doc.pdf",
                    content_type="application/pdf")  # fmt: skip
    got = app.get(stored.url(), headers=who.alice, status=200)
    head = app.head(stored.url(), headers=who.alice, status=200)
    assert head.body == b""
    for name in FILE_HEADERS:
        assert head.headers[name] == got.headers[name], name
    assert head.headers["Content-Length"] == str(len(stored.data))
    assert head.headers["Content-Disposition"].startswith("inline;")


@pytest.mark.parametrize(
    "if_none_match",
    ['"{tag}"', 'W/"{tag}"', '"other", "{tag}"', "*", '"a,b", "{tag}"'],
)
def test_if_none_match_answers_304(app: webtest.TestApp, who: People, if_none_match: str) -> None:
    stored = attach(app.app.registry, b"hello", name="a.txt", content_type="text/plain")
    header = if_none_match.format(tag=stored.sha256)
    response = app.get(stored.url(), headers={**who.alice, "If-None-Match": header}, status=304)
    assert response.body == b""
    assert response.headers["ETag"] == f'"{stored.sha256}"'
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert "Content-Disposition" not in response.headers


def test_validators_that_do_not_match_answer_the_file(app: webtest.TestApp, who: People) -> None:
    stored = attach(app.app.registry, b"hello", name="a.txt", content_type="text/plain")
    for header in ('"other"', "not-a-tag", f'"{stored.sha256[:-1]}"'):
        response = app.get(stored.url(), headers={**who.alice, "If-None-Match": header})
        assert response.status_int == 200, header
        assert response.body == b"hello", header


def test_if_modified_since(app: webtest.TestApp, who: People) -> None:
    stored = attach(app.app.registry, b"hello", name="a.txt", last_modified=1_700_000_000_500)
    same = "Tue, 14 Nov 2023 22:13:20 GMT"  # 1_700_000_000
    earlier = "Tue, 14 Nov 2023 22:13:19 GMT"
    app.get(stored.url(), headers={**who.alice, "If-Modified-Since": same}, status=304)
    assert app.get(stored.url(), headers={**who.alice, "If-Modified-Since": earlier}).body
    assert app.get(stored.url(), headers={**who.alice, "If-Modified-Since": "garbage"}).body
    # If-None-Match decides when both are sent (RFC 9110 section 13.2.2).
    both = {**who.alice, "If-Modified-Since": same, "If-None-Match": '"other"'}
    assert app.get(stored.url(), headers=both, status=200).body == b"hello"


def test_if_match_that_fails_is_a_412(app: webtest.TestApp, who: People) -> None:
    stored = attach(app.app.registry, b"hello", name="a.txt")
    response = app.get(stored.url(), headers={**who.alice, "If-Match": '"other"'}, status=412)
    assert response.content_type == "application/problem+json"
    assert response.headers["ETag"] == f'"{stored.sha256}"'
    ok = {**who.alice, "If-Match": f'"{stored.sha256}"'}
    assert app.get(stored.url(), headers=ok, status=200).body == b"hello"
    old = {**who.alice, "If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}
    app.get(stored.url(), headers=old, status=412)


def test_who_may_download(app: webtest.TestApp, who: People) -> None:
    registry = app.app.registry
    create_record(
        app, who.alice, rid="shared", record_permissions={"read": [f"user:{who.ids['bob']}"]}
    )
    stored = attach(registry, b"for bob", name="note.txt", rid="shared")
    url = stored.url(rid="shared")
    assert app.get(url, headers=who.alice, status=200).body == b"for bob"
    assert app.get(url, headers=who.bob, status=200).body == b"for bob"
    assert app.get(url, headers=who.admin, status=200).body == b"for bob"
    # A stranger learns nothing, not even that the record exists: 404 as for the record.
    hidden = app.get(url, headers=who.carol, status=404)
    assert hidden.content_type == "application/problem+json"
    app.get("/api/v1/collections/books/records/shared", headers=who.carol, status=404)
    app.head(url, headers=who.carol, status=404)
    anonymous = app.get(url, headers=ANONYMOUS, status=401)
    assert anonymous.content_type == "application/problem+json"
    # Bob may read this record, not the other one.
    other = attach(registry, b"private", name="note.txt")
    app.get(other.url(), headers=who.bob, status=404)


def test_public_collection_serves_anonymous_callers(app: webtest.TestApp, who: People) -> None:
    create_record(
        app, who.alice, cid="public", rid="r1",
        collection_permissions={"read": ["system.Everyone"]},
    )  # fmt: skip
    stored = attach(app.app.registry, b"open", name="o.txt", cid="public", rid="r1")
    assert app.get(stored.url("public", "r1"), status=200).body == b"open"


def test_missing_attachment_or_record_is_a_404_problem(app: webtest.TestApp, who: People) -> None:
    attach(app.app.registry, b"x", name="here.txt")
    base = "/api/v1/collections/books/records"
    missing = app.get(f"{base}/dune/attachments/gone.txt", headers=who.alice, status=404)
    assert missing.content_type == "application/problem+json"
    assert "gone.txt" in missing.json["detail"]
    app.get(f"{base}/nope/attachments/here.txt", headers=who.alice, status=404)
    app.get("/api/v1/collections/nope/records/dune/attachments/here.txt", headers=who.alice,
            status=404)  # fmt: skip


def test_a_decomposed_name_finds_the_normalised_one(app: webtest.TestApp, who: People) -> None:
    stored = attach(app.app.registry, b"cafe", name="caf\u00e9.txt")
    url = "/api/v1/collections/books/records/dune/attachments/cafe%CC%81.txt"  # e + accent
    assert app.get(url, headers=who.alice, status=200).body == stored.data


def test_query_parameters(app: webtest.TestApp, who: People) -> None:
    stored = attach(
        app.app.registry, b"\x89PNG\r\n\x1a\n...", name="p.png", content_type="image/png"
    )
    url = stored.url()
    assert app.get(url, headers=who.alice).headers["Content-Disposition"].startswith("inline;")
    for value in ("1", "true"):
        saved = app.get(f"{url}?download={value}", headers=who.alice)
        assert saved.headers["Content-Disposition"].startswith("attachment;")
    assert (
        app.get(f"{url}?download=0", headers=who.alice)
        .headers["Content-Disposition"]
        .startswith("inline;")
    )
    bad = app.get(f"{url}?download=yes", headers=who.alice, status=400)
    assert bad.json["errors"][0]["name"] == "download"
    unknown = app.get(f"{url}?dowload=1", headers=who.alice, status=400)
    assert unknown.json["errors"][0]["name"] == "dowload"
    twice = app.get(f"{url}?download=1&download=0", headers=who.alice, status=400)
    assert twice.json["errors"][0]["name"] == "download"


def test_an_object_missing_from_storage_is_a_503(app: webtest.TestApp, who: People) -> None:
    from benben_files.storage import get_storage

    registry = app.app.registry
    stored = attach(registry, b"soon gone", name="g.txt")
    get_storage(registry).delete(stored.key)
    before = metric(registry, "benben_files_failures_total", operation="download")
    response = app.get(stored.url(), headers=who.alice, status=503)
    assert response.content_type == "application/problem+json"
    assert response.json["title"] == "Stored file unavailable"
    assert metric(registry, "benben_files_failures_total", operation="download") == before + 1


@pytest.fixture
def tracked(app: webtest.TestApp) -> TrackedStorage:
    from benben_files.storage import STORAGE_KEY

    registry = app.app.registry
    registry[STORAGE_KEY] = TrackedStorage(registry[STORAGE_KEY])
    return registry[STORAGE_KEY]


def test_streamed_in_chunks_and_counted_as_sent(
    app: webtest.TestApp, who: People, tracked: TrackedStorage
) -> None:
    registry = app.app.registry
    stored = attach(registry, random_bytes(3 * 1024 * 1024 + 5), name="big.bin")
    bytes_before = metric(registry, "benben_files_downloaded_bytes_total")
    started: list[str] = []
    body = app.app(
        environ_of(stored.url(), who.alice), lambda status, headers: started.append(status)
    )
    try:
        chunks = [len(chunk) for chunk in body]
    finally:
        body.close()
    assert started == ["200 OK"]
    # Never the whole file at once: storage's chunks, passed on as they come.
    assert len(chunks) >= 12
    assert max(chunks) <= 1024 * 1024
    assert sum(chunks) == len(stored.data)
    assert tracked.streams[-1].closed
    sent = metric(registry, "benben_files_downloaded_bytes_total") - bytes_before
    assert sent == len(stored.data)


def test_a_client_gone_midway_closes_the_storage_stream(
    app: webtest.TestApp, who: People, tracked: TrackedStorage
) -> None:
    registry = app.app.registry
    stored = attach(registry, random_bytes(2 * 1024 * 1024), name="big.bin")
    bytes_before = metric(registry, "benben_files_downloaded_bytes_total")
    body = app.app(environ_of(stored.url(), who.alice), lambda status, headers: None)
    first = next(iter(body))
    body.close()  # what a WSGI server does when the client disconnects
    assert tracked.streams[-1].closed
    # Only what was sent is counted, not the Content-Length promised.
    assert metric(registry, "benben_files_downloaded_bytes_total") - bytes_before == len(first)
    assert len(first) < len(stored.data)


@pytest.mark.parametrize("at_open", [True, False])
def test_storage_failures(app: webtest.TestApp, who: People, at_open: bool) -> None:
    from benben_files.storage import STORAGE_KEY

    registry = app.app.registry
    stored = attach(registry, random_bytes(1024 * 1024), name="f.bin")
    failing = FailingStorage(registry[STORAGE_KEY], at_open=at_open)
    registry[STORAGE_KEY] = failing
    failures = metric(registry, "benben_files_failures_total", operation="download")
    if at_open:  # before the response starts: a 503 problem
        response = app.get(stored.url(), headers=who.alice, status=503)
        assert response.content_type == "application/problem+json"
    else:  # once it has started, all that is left is to cut it short
        body = app.app(environ_of(stored.url(), who.alice), lambda status, headers: None)
        with pytest.raises(Exception, match="the connection broke"):
            list(body)
        body.close()
        assert failing.streams[-1].closed
    assert metric(registry, "benben_files_failures_total", operation="download") == failures + 1


def test_head_reads_nothing_from_storage(
    app: webtest.TestApp, who: People, tracked: TrackedStorage
) -> None:
    stored = attach(app.app.registry, b"abc", name="a.bin")
    app.head(stored.url(), headers=who.alice, status=200)
    app.get(stored.url(), headers={**who.alice, "If-None-Match": f'"{stored.sha256}"'}, status=304)
    assert tracked.streams == []


# -- thumbnails -------------------------------------------------------------------------------

THUMBNAILS_ON = {"benben.files.thumbnails": "on", "benben.files.thumbnail_sizes": "16x16 32x0"}


def png(size: tuple[int, int]) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def thumbnailing(make_app: Any, storage_settings: dict[str, Any]) -> webtest.TestApp:
    app = make_app({**storage_settings, **THUMBNAILS_ON})
    create_record(app, people(app).alice)
    return app


def test_thumbnails_are_made_on_demand_then_served(thumbnailing: webtest.TestApp) -> None:
    from PIL import Image

    from benben.testing import run_queued_tasks

    app = thumbnailing
    alice = bearer(login(app, "alice")["access_token"])
    stored = attach(app.app.registry, png((64, 48)), name="p.png", content_type="image/png")
    url = stored.url() + "/thumbnails/16x16"
    pending = app.get(url, headers=alice, status=503)
    assert pending.content_type == "application/problem+json"
    assert pending.headers["Retry-After"] == "2"
    assert run_queued_tasks(app.app.registry) >= 1
    for size, expected in (("16x16", (16, 16)), ("32x0", (32, 24))):
        served = app.get(stored.url() + f"/thumbnails/{size}", headers=alice, status=200)
        assert served.headers["Content-Type"] == "image/png"
        assert served.headers["Content-Disposition"].startswith('inline; filename="p.png"')
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert served.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert Image.open(io.BytesIO(served.body)).size == expected
        etag = served.headers["ETag"]
        assert etag not in ("", f'"{stored.sha256}"')
        app.get(stored.url() + f"/thumbnails/{size}", headers={**alice, "If-None-Match": etag},
                status=304)  # fmt: skip


def test_thumbnail_refusals(thumbnailing: webtest.TestApp) -> None:
    app = thumbnailing
    alice = bearer(login(app, "alice")["access_token"])
    image = attach(app.app.registry, png((8, 8)), name="p.png", content_type="image/png")
    text = attach(app.app.registry, b"words", name="t.txt", content_type="text/plain")
    for size in ("64x64", "16x16f", "016x16", "big", "0x0"):
        refused = app.get(image.url() + f"/thumbnails/{size}", headers=alice, status=400)
        assert refused.json["errors"] == [
            {"location": "path", "name": "size", "message": "must be one of 16x16, 32x0"}
        ]
        assert refused.json["allowed_sizes"] == ["16x16", "32x0"]
    not_image = app.get(text.url() + "/thumbnails/16x16", headers=alice, status=404)
    assert not_image.content_type == "application/problem+json"
    app.get(image.url().replace("p.png", "q.png") + "/thumbnails/16x16", headers=alice, status=404)
    app.get(image.url() + "/thumbnails/16x16", headers=ANONYMOUS, status=401)
    app.get(image.url() + "/thumbnails/16x16?download=1", headers=alice, status=400)


def test_a_failed_thumbnail_serves_the_original(thumbnailing: webtest.TestApp) -> None:
    from benben.testing import run_queued_tasks

    app = thumbnailing
    alice = bearer(login(app, "alice")["access_token"])
    broken = png((8, 8))[:40]  # a PNG's start, cut short: no image can be read from it
    stored = attach(app.app.registry, broken, name="broken.png", content_type="image/png")
    app.get(stored.url() + "/thumbnails/16x16", headers=alice, status=503)
    run_queued_tasks(app.app.registry)
    served = app.get(stored.url() + "/thumbnails/16x16", headers=alice, status=200)
    assert served.body == broken
    assert served.headers["ETag"] == f'"{stored.sha256}"'
    assert served.headers["Content-Disposition"].startswith("inline;")


def test_thumbnails_off_are_a_404(app: webtest.TestApp, who: People) -> None:
    stored = attach(app.app.registry, png((8, 8)), name="p.png", content_type="image/png")
    off = app.get(stored.url() + "/thumbnails/100x100", headers=who.alice, status=404)
    assert off.content_type == "application/problem+json"


def test_an_upload_downloads_as_it_was_sent(app: webtest.TestApp, who: People) -> None:
    from files_support import upload_raw

    data = random_bytes(300_000)
    shown = upload_raw(app, who.alice, data, name="up load.bin").json
    response = app.get(shown["href"], headers=who.alice, status=200)
    assert hashlib.sha256(response.body).hexdigest() == shown["sha256"]
    assert response.headers["ETag"] == f'"{shown["sha256"]}"'
    part = app.get(shown["href"], headers={**who.alice, "Range": "bytes=-10"}, status=206)
    assert part.body == data[-10:]
