"""Helpers of the files plugin's tests: contents (real images, an executable), people and
records, uploads (raw, multipart, chunked), and what the database and the storage hold."""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import webtest

from benben.testing import committed_session
from benben.testing_auth import add_user, bearer, login

ANONYMOUS: dict[str, str] = {}
# The start of a Windows executable (a DOS stub and its PE header): what a sniffer must see.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(44) + b"PE\x00\x00"
EXE += bytes(200)


def _image(kind: str, size: tuple[int, int] = (8, 6)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(buffer, kind)
    return buffer.getvalue()


def png_bytes(size: tuple[int, int] = (8, 6)) -> bytes:
    return _image("PNG", size)


def jpeg_bytes(size: tuple[int, int] = (8, 6)) -> bytes:
    return _image("JPEG", size)


def gif_bytes(size: tuple[int, int] = (8, 6)) -> bytes:
    return _image("GIF", size)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass
class People:
    """An administrator and three users, logged in: alice owns what the tests make, bob is
    given access where a test says so, carol is a stranger."""

    admin: dict[str, str]
    alice: dict[str, str]
    bob: dict[str, str]
    carol: dict[str, str]
    ids: dict[str, str]


def people(app: webtest.TestApp) -> People:
    registry = app.app.registry
    ids = {
        "root": add_user(registry, "root", is_admin=True),
        "alice": add_user(registry, "alice"),
        "bob": add_user(registry, "bob"),
        "carol": add_user(registry, "carol"),
    }
    headers = {name: bearer(login(app, name)["access_token"]) for name in ids}
    return People(headers["root"], headers["alice"], headers["bob"], headers["carol"], ids)


def create_record(
    app: webtest.TestApp,
    headers: dict[str, str],
    cid: str = "books",
    rid: str = "dune",
    *,
    collection_permissions: dict[str, list[str]] | None = None,
    record_permissions: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The collection (unless it exists) and a record in it; the record's JSON."""
    found = app.get(f"/api/v1/collections/{cid}", headers=headers, expect_errors=True)
    if found.status_int == 404:
        body: dict[str, Any] = {"id": cid}
        if collection_permissions:
            body["permissions"] = collection_permissions
        app.post_json("/api/v1/collections", body, headers=headers, status=201)
    record: dict[str, Any] = {"data": {"title": rid}}
    if record_permissions:
        record["permissions"] = record_permissions
    url = f"/api/v1/collections/{cid}/records/{rid}"
    return app.put_json(url, record, headers=headers, status=201).json


def attachments_url(cid: str = "books", rid: str = "dune", name: str | None = None) -> str:
    url = f"/api/v1/collections/{cid}/records/{rid}/attachments"
    return url if name is None else f"{url}/{quote(name, safe='')}"


def upload_raw(
    app: webtest.TestApp,
    headers: dict[str, str],
    content: bytes,
    *,
    name: str | None = "file.bin",
    content_type: str = "application/octet-stream",
    cid: str = "books",
    rid: str = "dune",
    put: bool = False,
    status: int | None = 201,
    extra_headers: dict[str, str] | None = None,
) -> webtest.TestResponse:
    """POST the file as the body (``?name=``), or PUT it at ``.../attachments/{name}``."""
    all_headers = {**headers, "Content-Type": content_type, **(extra_headers or {})}
    if put:
        assert name is not None
        url = attachments_url(cid, rid, name)
        return app.put(url, content, headers=all_headers, status=status, expect_errors=True)
    url = attachments_url(cid, rid)
    if name is not None:
        url += "?name=" + quote(name, safe="")
    return app.post(url, content, headers=all_headers, status=status, expect_errors=True)


def multipart_body(
    parts: list[tuple[str, str | None, bytes, str | None]], boundary: str = "b0undary-x"
) -> tuple[bytes, str]:
    """A multipart/form-data body of ``(field, filename, content, content type)`` parts, in
    that order; the body and its Content-Type."""
    chunks = []
    for field, filename, content, content_type in parts:
        disposition = f'form-data; name="{field}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        chunks.append(head.encode() + b"\r\n" + content + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def upload_form(
    app: webtest.TestApp,
    headers: dict[str, str],
    content: bytes,
    *,
    filename: str = "file.bin",
    name: str | None = None,
    content_type: str | None = "application/octet-stream",
    cid: str = "books",
    rid: str = "dune",
    put_name: str | None = None,
    status: int | None = 201,
) -> webtest.TestResponse:
    """POST (PUT at ``put_name``) a multipart form: a ``name`` field first when given, then
    the ``file`` part."""
    parts: list[tuple[str, str | None, bytes, str | None]] = []
    if name is not None:
        parts.append(("name", None, name.encode(), None))
    parts.append(("file", filename, content, content_type))
    body, form_type = multipart_body(parts)
    all_headers = {**headers, "Content-Type": form_type}
    if put_name is not None:
        url = attachments_url(cid, rid, put_name)
        return app.put(url, body, headers=all_headers, status=status, expect_errors=True)
    url = attachments_url(cid, rid)
    return app.post(url, body, headers=all_headers, status=status, expect_errors=True)


def upload_chunked(
    app: webtest.TestApp,
    headers: dict[str, str],
    content: bytes,
    *,
    name: str = "file.bin",
    content_type: str = "application/octet-stream",
    cid: str = "books",
    rid: str = "dune",
    status: int | None = 201,
) -> webtest.TestResponse:
    """A raw upload without Content-Length, as a chunked request reaches the app."""
    url = attachments_url(cid, rid) + "?name=" + quote(name, safe="")
    request = webtest.TestRequest.blank(url, method="POST", headers=headers)
    request.environ["wsgi.input"] = io.BytesIO(content)
    request.environ["wsgi.input_terminated"] = True
    request.environ.pop("CONTENT_LENGTH", None)
    request.environ["CONTENT_TYPE"] = content_type
    return app.do_request(request, status=status, expect_errors=True)


def set_policy(
    app: webtest.TestApp,
    headers: dict[str, str],
    cid: str = "books",
    status: int = 200,
    **policy: Any,
) -> Any:
    url = f"/api/v1/collections/{cid}/attachment-policy"
    return app.put_json(url, policy, headers=headers, status=status, expect_errors=True).json


# A session committed on exit: benben.testing's.
session_of = committed_session


def attachment_rows(registry: Any, cid: str = "books") -> dict[tuple[str, str], dict[str, Any]]:
    """The collection's Attachment rows by (record id, name)."""
    from sqlalchemy import select

    from benben_files.models import Attachment

    with session_of(registry) as session:
        rows = session.scalars(select(Attachment).where(Attachment.collection_id == cid))
        return {
            (row.record_id, row.name): {
                "sha256": row.sha256,
                "size": row.size,
                "content_type": row.content_type,
                "last_modified": row.last_modified,
            }
            for row in rows
        }


def blob_rows(registry: Any) -> dict[str, dict[str, Any]]:
    """Every Blob row by sha256."""
    from sqlalchemy import select

    from benben_files.models import Blob

    with session_of(registry) as session:
        return {
            blob.sha256: {"key": blob.key, "size": blob.size, "content_type": blob.content_type}
            for blob in session.scalars(select(Blob))
        }


def stored_keys(storage: Any) -> set[str]:
    """The keys of every stored upload (``blobs/``), temporary files included."""
    return {stored.key for stored in storage.iter_objects("blobs/")}


def read_object(storage: Any, key: str) -> bytes:
    return b"".join(storage.read(key))


def new_id() -> str:
    return uuid.uuid4().hex[:12]
