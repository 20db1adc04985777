"""Limits: max file size and quota refused with 413 before anything is stored (by
Content-Length, or while streaming a chunked body), allowed types checked on the sniffed type,
a declared type belied by the bytes refused."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import webtest
from files_support import (
    EXE,
    People,
    attachment_rows,
    create_record,
    people,
    png_bytes,
    set_policy,
    stored_keys,
    upload_chunked,
    upload_form,
    upload_raw,
)


def test_max_file_size_by_content_length(
    app: webtest.TestApp, who: People, app_storage: Any
) -> None:
    set_policy(app, who.alice, max_file_size=1000)
    problem = upload_raw(app, who.alice, os.urandom(1001), name="big.bin", status=413).json
    assert problem["max_file_size"] == 1000
    assert problem["type"] == "urn:benben:problem:too-large"
    form = upload_form(app, who.alice, os.urandom(70_000), status=413).json
    assert form["max_file_size"] == 1000
    assert stored_keys(app_storage) == set()
    upload_raw(app, who.alice, os.urandom(1000), name="fits.bin")


def test_max_file_size_while_streaming(app: webtest.TestApp, who: People, app_storage: Any) -> None:
    """Without Content-Length (chunked), or a multipart body whose file alone is too large
    though its length is within the envelope's slack: counted as it streams, nothing left."""
    set_policy(app, who.alice, max_file_size=1000)
    chunked = upload_chunked(app, who.alice, os.urandom(5000), status=413).json
    assert chunked["max_file_size"] == 1000
    slightly = upload_form(app, who.alice, os.urandom(1500), status=413).json
    assert slightly["max_file_size"] == 1000
    assert stored_keys(app_storage) == set()
    assert attachment_rows(app.app.registry) == {}
    upload_chunked(app, who.alice, os.urandom(900), name="small.bin")


def test_quota(app: webtest.TestApp, who: People, app_storage: Any) -> None:
    set_policy(app, who.alice, quota_bytes=1000)
    upload_raw(app, who.alice, os.urandom(600), name="a.bin")
    keys = stored_keys(app_storage)
    problem = upload_raw(app, who.alice, os.urandom(600), name="b.bin", status=413).json
    assert problem["quota_bytes"] == 1000
    assert "max_file_size" not in problem
    chunked = upload_chunked(app, who.alice, os.urandom(600), name="c.bin", status=413).json
    assert chunked["quota_bytes"] == 1000
    assert stored_keys(app_storage) == keys
    # A replacement does not count the file it replaces; other records count.
    upload_raw(app, who.alice, os.urandom(900), name="a.bin", put=True, status=200)
    create_record(app, who.alice, rid="other")
    upload_raw(app, who.alice, os.urandom(101), name="d.bin", rid="other", status=413)
    upload_raw(app, who.alice, os.urandom(100), name="d.bin", rid="other")
    used = app.get("/api/v1/collections/books/attachment-policy", headers=who.alice).json
    assert used["used_bytes"] == 1000


def test_quota_from_settings(make_app: Callable[..., webtest.TestApp]) -> None:
    app = make_app({"benben.files.collection_quota": "500", "benben.files.max_file_size": "400"})
    who = people(app)
    create_record(app, who.alice)
    assert upload_raw(app, who.alice, b"x" * 401, status=413).json["max_file_size"] == 400
    upload_raw(app, who.alice, b"x" * 300, name="a.bin")
    assert (
        upload_raw(app, who.alice, b"x" * 201, name="b.bin", status=413).json["quota_bytes"] == 500
    )
    # A policy may lower the instance's largest file, not raise it.
    problem = set_policy(app, who.alice, max_file_size=401, status=400)
    assert problem["errors"][0]["pointer"] == "/max_file_size"


def test_allowed_types_are_checked_on_the_sniffed_type(
    app: webtest.TestApp, who: People, app_storage: Any
) -> None:
    set_policy(app, who.alice, allowed_types=["image/*"])
    # A PNG declared as text is a PNG, and allowed.
    shown = upload_raw(app, who.alice, png_bytes(), name="a.png", content_type="text/plain").json
    assert shown["content_type"] == "image/png"
    keys = stored_keys(app_storage)
    # An executable declared as an image is refused, whatever it claims.
    problem = upload_raw(
        app, who.alice, EXE, name="b.png", content_type="image/png", status=415
    ).json
    assert problem["content_type"] == "application/vnd.microsoft.portable-executable"
    assert problem["declared_type"] == "image/png"
    assert problem["allowed_types"] == ["image/*"]
    assert (
        upload_form(
            app, who.alice, b"plain text", filename="d.png", content_type="image/png", status=415
        ).json["content_type"]
        == "text/plain"
    )
    assert stored_keys(app_storage) == keys


def test_a_declared_type_belied_by_the_bytes_is_refused(app: webtest.TestApp, who: People) -> None:
    """Any type allowed: an executable sent as image/png is still refused (415), as octet
    stream it is stored as what it is."""
    problem = upload_raw(app, who.alice, EXE, name="x.png", content_type="image/png", status=415)
    assert problem.json["content_type"] == "application/vnd.microsoft.portable-executable"
    shown = upload_raw(app, who.alice, EXE, name="x.exe").json
    assert shown["content_type"] == "application/vnd.microsoft.portable-executable"
    # A JPEG sent as a PNG is an image all the same: stored as the JPEG it is.
    from files_support import jpeg_bytes

    jpeg = upload_raw(app, who.alice, jpeg_bytes(), name="j.png", content_type="image/png").json
    assert jpeg["content_type"] == "image/jpeg"
