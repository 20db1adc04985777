"""A collection's attachment policy: read by its readers, set by its admins, validated, and
its JSON Schema of the record's attachments enforced on uploads and deletions."""

from __future__ import annotations

from typing import Any

import pytest
import webtest
from files_support import (
    People,
    attachments_url,
    create_record,
    jpeg_bytes,
    people,
    png_bytes,
    set_policy,
    upload_raw,
)

URL = "/api/v1/collections/books/attachment-policy"


@pytest.fixture
def who(app: webtest.TestApp) -> People:
    found = people(app)
    bob = f"user:{found.ids['bob']}"
    create_record(app, found.alice, collection_permissions={"read": [bob]})
    return found


def test_default_policy(app: webtest.TestApp, who: People) -> None:
    policy = app.get(URL, headers=who.alice).json
    assert policy == {
        "max_file_size": None,
        "quota_bytes": None,
        "allowed_types": None,
        "thumbnail_sizes": None,
        "schema": None,
        "effective": {
            "max_file_size": 100 * 1024 * 1024,
            "quota_bytes": 0,
            "allowed_types": [],
            "thumbnails": False,
            "thumbnail_sizes": ["100x100"],
        },
        "used_bytes": 0,
    }


def test_set_and_read(app: webtest.TestApp, who: People) -> None:
    body = {
        "max_file_size": 5000,
        "quota_bytes": 10_000,
        "allowed_types": ["image/*", "application/pdf"],
        "thumbnail_sizes": ["200x0", "64x64f"],
    }
    answer = set_policy(app, who.alice, **body)
    assert {key: answer[key] for key in body} == body
    assert answer["schema"] is None
    assert answer["effective"]["max_file_size"] == 5000
    assert answer["effective"]["thumbnail_sizes"] == ["200x0", "64x64f"]
    upload_raw(app, who.alice, png_bytes(), name="a.png")
    read = app.get(URL, headers=who.bob).json
    assert read["used_bytes"] == len(png_bytes())
    assert read["allowed_types"] == ["image/*", "application/pdf"]
    # PUT replaces the whole policy: what is left out is the instance's again.
    answer = set_policy(app, who.alice, quota_bytes=20_000)
    assert answer["max_file_size"] is None
    assert answer["effective"]["max_file_size"] == 100 * 1024 * 1024


def test_who_may(app: webtest.TestApp, who: People) -> None:
    set_policy(app, who.bob, quota_bytes=1, status=403)
    set_policy(app, who.carol, quota_bytes=1, status=404)
    app.get(URL, headers=who.carol, status=404)
    app.get(URL, status=401)
    app.get("/api/v1/collections/missing/attachment-policy", headers=who.alice, status=404)
    set_policy(app, who.admin, quota_bytes=1)
    assert app.get(URL, headers=who.bob).json["quota_bytes"] == 1


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"max_file_size": 0}, "/max_file_size"),
        ({"quota_bytes": -1}, "/quota_bytes"),
        ({"allowed_types": ["image"]}, "/allowed_types/0"),
        ({"allowed_types": ["IMAGE/PNG"]}, "/allowed_types/0"),
        ({"thumbnail_sizes": ["0x0"]}, "/thumbnail_sizes/0"),
        ({"thumbnail_sizes": ["4000x10"]}, "/thumbnail_sizes/0"),
        ({"thumbnail_sizes": ["100x0f"]}, "/thumbnail_sizes/0"),
        ({"schema": {"type": "nonsense"}}, "/schema/type"),
        ({"schema": {"propertyNames": {"pattern": "(?=lookahead)"}}}, "/schema"),
        ({"unknown": 1}, "/unknown"),
    ],
)
def test_invalid_policies(
    app: webtest.TestApp, who: People, body: dict[str, Any], pointer: str
) -> None:
    problem = set_policy(app, who.alice, status=400, **body)
    assert problem["status"] == 400
    assert any(error["pointer"].startswith(pointer) for error in problem["errors"]), problem


def test_schema_checked_on_uploads(app: webtest.TestApp, who: People) -> None:
    schema = {
        "required": ["cover"],
        "properties": {
            "cover": {"properties": {"content_type": {"enum": ["image/png", "image/jpeg"]}}}
        },
        "maxProperties": 2,
        "propertyNames": {"pattern": "^[a-z]+$"},
    }
    set_policy(app, who.alice, schema=schema)
    # `required` does not stop the first upload of another name (records start without files).
    upload_raw(app, who.alice, b"notes", name="notes")
    problem = upload_raw(app, who.alice, b"text", name="cover", status=400).json
    assert problem["errors"][0]["pointer"] == "/attachments/cover/content_type"
    upload_raw(app, who.alice, png_bytes(), name="cover")
    bad_name = upload_raw(app, who.alice, b"x", name="Bad.txt", put=True, status=400).json
    assert bad_name["errors"][0]["pointer"].startswith("/attachments")
    # Two already: a third is over maxProperties.
    upload_raw(app, who.alice, b"x", name="third", status=400)
    # Replacing the required one is allowed, deleting it is not.
    upload_raw(app, who.alice, jpeg_bytes(), name="cover", put=True, status=200)
    refused = app.delete(attachments_url(name="cover"), headers=who.alice, status=409).json
    assert "cover" in refused["detail"]
    app.delete(attachments_url(name="notes"), headers=who.alice)
    names = app.get("/api/v1/collections/books/records/dune", headers=who.alice).json
    assert list(names["attachments"]) == ["cover"]


def test_min_properties_keeps_attachments(app: webtest.TestApp, who: People) -> None:
    set_policy(app, who.alice, schema={"minProperties": 2})
    upload_raw(app, who.alice, b"a", name="a")
    upload_raw(app, who.alice, b"b", name="b")
    upload_raw(app, who.alice, b"c", name="c")
    app.delete(attachments_url(name="c"), headers=who.alice)
    app.delete(attachments_url(name="b"), headers=who.alice, status=409)
