"""The attachments API's shape: lists, parameters, names from every source (traversal and
control characters refused or sanitised), malformed forms, thumbnails in the member, records
keeping their attachments, the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import webtest
from files_support import (
    People,
    attachments_url,
    create_record,
    multipart_body,
    people,
    png_bytes,
    upload_form,
    upload_raw,
)


def test_list_pages_sorted_by_name(app: webtest.TestApp, who: People) -> None:
    for name in ("c.txt", "a.txt", "b.txt"):
        upload_raw(app, who.alice, name.encode(), name=name)
    first = app.get(attachments_url() + "?_limit=2", headers=who.alice).json
    assert [item["name"] for item in first["data"]] == ["a.txt", "b.txt"]
    second = app.get(first["next"], headers=who.alice).json
    assert [item["name"] for item in second["data"]] == ["c.txt"]
    assert second["next"] is None
    backwards = app.get(attachments_url() + "?_sort=-name", headers=who.alice).json
    assert [item["name"] for item in backwards["data"]] == ["c.txt", "b.txt", "a.txt"]
    problem = app.get(attachments_url() + "?color=red", headers=who.alice, status=400).json
    assert problem["errors"][0]["name"] == "color"


def test_unknown_parameters_of_writes(app: webtest.TestApp, who: People) -> None:
    url = attachments_url() + "?name=a.txt&nmae=b"
    problem = app.post(url, b"x", headers=who.alice, status=400).json
    assert problem["errors"][0]["name"] == "nmae"
    put = app.put(attachments_url(name="a.txt") + "?name=b", b"x", headers=who.alice, status=400)
    assert put.json["errors"][0]["name"] == "name"


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "..\\x",
        "..",
        ".",
        "a\x01b",
        "a\x7fb",
        "invoice\u202egpj.exe",
        " padded",
        "x" * 256,
    ],
)
def test_client_names_needing_changes_are_refused(
    app: webtest.TestApp, who: People, name: str
) -> None:
    problem = upload_raw(app, who.alice, b"x", name=name, status=400).json
    assert problem["errors"][0]["name"] == "name"
    form = upload_form(app, who.alice, b"x", filename="ok.txt", name=name, status=400).json
    assert form["errors"][0]["name"] == "name"
    assert (
        "attachments"
        not in app.get("/api/v1/collections/books/records/dune", headers=who.alice).json
    )


@pytest.mark.parametrize("segment", ["%2e%2e", "..", "a%5Cb", "%E2%80%AEx"])
def test_path_names_needing_changes_are_refused(
    app: webtest.TestApp, who: People, segment: str
) -> None:
    url = attachments_url() + "/" + segment
    response = app.put(url, b"x", headers=who.alice, expect_errors=True)
    # ".." may be resolved away by the client or router (a 404 of another path), never stored.
    assert response.status_int in (400, 404)
    if response.status_int == 400:
        assert response.json["errors"][0]["name"] == "name"
    listed = app.get(attachments_url(), headers=who.alice).json["data"]
    assert listed == []


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\fakepath\\photo.png", "photo.png"),
        ("..\\..\\x.txt", "x.txt"),
        ("r\u00e9sume\u0301.txt", "r\u00e9sum\u00e9.txt"),
    ],
)
def test_form_filenames_are_sanitised(
    app: webtest.TestApp, who: People, filename: str, expected: str
) -> None:
    shown = upload_form(app, who.alice, b"x", filename=filename).json
    assert shown["name"] == expected


def test_malformed_forms(app: webtest.TestApp, who: People) -> None:
    url = attachments_url()

    def post(parts: list[tuple[str, str | None, bytes, str | None]]) -> dict[str, str]:
        body, content_type = multipart_body(parts)
        headers = {**who.alice, "Content-Type": content_type}
        problem = app.post(url, body, headers=headers, status=400).json
        return problem["errors"][0] if problem.get("errors") else problem

    assert post([("name", None, b"x.txt", None)])["name"] == "file"
    assert post([("file", "a.txt", b"a", None), ("name", None, b"b.txt", None)])["name"] == "name"
    assert post([("file", "a.txt", b"a", None), ("file", "b.txt", b"b", None)])["name"] == "file"
    assert post([("other", None, b"x", None), ("file", "a.txt", b"a", None)])["name"] == "other"
    assert post([("file", "..", b"a", None)])["name"] == "file"
    truncated = b'--b0undary-x\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n'
    headers = {**who.alice, "Content-Type": "multipart/form-data; boundary=b0undary-x"}
    app.post(url, truncated, headers=headers, status=400)
    no_boundary = {**who.alice, "Content-Type": "multipart/form-data"}
    assert app.post(url, b"x", headers=no_boundary, status=400).json["errors"][0]["name"] == (
        "Content-Type"
    )
    assert (
        "attachments"
        not in app.get("/api/v1/collections/books/records/dune", headers=who.alice).json
    )


def test_empty_file(app: webtest.TestApp, who: People) -> None:
    shown = upload_raw(app, who.alice, b"", name="empty").json
    assert shown["size"] == 0
    assert shown["sha256"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_record_writes_keep_attachments(app: webtest.TestApp, who: People) -> None:
    upload_raw(app, who.alice, b"x", name="x.txt")
    url = "/api/v1/collections/books/records/dune"
    replaced = app.put_json(url, {"data": {"title": "new"}}, headers=who.alice).json
    assert list(replaced["attachments"]) == ["x.txt"]
    patched = app.patch_json(url, {"data": {"year": 1965}}, headers=who.alice).json
    assert list(patched["attachments"]) == ["x.txt"]


def test_thumbnails_in_the_member(make_app: Callable[..., webtest.TestApp]) -> None:
    app = make_app({"benben.files.thumbnails": "true", "benben.files.thumbnail_sizes": "64x64"})
    who = people(app)
    create_record(app, who.alice)
    shown = upload_raw(app, who.alice, png_bytes(), name="p.png").json
    assert shown["thumbnails"] == {"64x64": shown["href"] + "/thumbnails/64x64"}
    text = upload_raw(app, who.alice, b"text", name="t.txt").json
    assert "thumbnails" not in text
    policy = {"thumbnail_sizes": ["32x0", "16x16f"]}
    app.put_json("/api/v1/collections/books/attachment-policy", policy, headers=who.alice)
    later = upload_raw(app, who.alice, png_bytes(), name="q.png").json
    assert list(later["thumbnails"]) == ["32x0", "16x16f"]


def test_documented_in_openapi(app: webtest.TestApp) -> None:
    paths = app.get("/api/v1/openapi.json").json["paths"]
    listing = paths["/api/v1/collections/{cid}/records/{rid}/attachments"]
    assert listing["post"]["operationId"] == "uploadAttachment"
    assert listing["get"]["operationId"] == "listAttachments"
    item = paths["/api/v1/collections/{cid}/records/{rid}/attachments/{name}"]
    assert {"put", "delete"} <= set(item)
    policy = paths["/api/v1/collections/{cid}/attachment-policy"]
    assert {"get", "put"} <= set(policy)
