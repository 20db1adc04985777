"""Permissions follow the record: its readers list, its writers upload and delete, a record
the caller may not see is a 404 as on its own URL, an anonymous caller of a private one a 401."""

from __future__ import annotations

import pytest
import webtest
from files_support import (
    ANONYMOUS,
    People,
    attachments_url,
    create_record,
    people,
    upload_form,
    upload_raw,
)


@pytest.fixture
def who(app: webtest.TestApp) -> People:
    found = people(app)
    bob = f"user:{found.ids['bob']}"
    create_record(app, found.alice, collection_permissions={"read": [bob]})
    upload_raw(app, found.alice, b"one", name="a.txt")
    return found


def attempt(app: webtest.TestApp, headers: dict[str, str]) -> dict[str, int]:
    """The status of each operation for the caller: list, upload (raw and form), replace,
    delete."""
    return {
        "list": app.get(attachments_url(), headers=headers, expect_errors=True).status_int,
        "post": upload_raw(app, headers, b"x", name="new.txt", status=None).status_int,
        "form": upload_form(app, headers, b"y", filename="form.txt", status=None).status_int,
        "put": upload_raw(app, headers, b"z", name="a.txt", put=True, status=None).status_int,
        "delete": app.delete(
            attachments_url(name="new.txt"), headers=headers, expect_errors=True
        ).status_int,
    }


def test_owner(app: webtest.TestApp, who: People) -> None:
    assert attempt(app, who.alice) == {
        "list": 200,
        "post": 201,
        "form": 201,
        "put": 200,
        "delete": 200,
    }


def test_administrator(app: webtest.TestApp, who: People) -> None:
    assert attempt(app, who.admin) == {
        "list": 200,
        "post": 201,
        "form": 201,
        "put": 200,
        "delete": 200,
    }


def test_reader_may_list_not_write(app: webtest.TestApp, who: People) -> None:
    assert attempt(app, who.bob) == {
        "list": 200,
        "post": 403,
        "form": 403,
        "put": 403,
        "delete": 403,
    }


def test_record_writer(app: webtest.TestApp, who: People) -> None:
    carol = f"user:{who.ids['carol']}"
    create_record(app, who.alice, rid="shared", record_permissions={"write": [carol]})
    url = attachments_url(rid="shared")
    assert app.get(url, headers=who.carol).json["data"] == []
    upload_raw(app, who.carol, b"hers", name="c.txt", rid="shared")
    app.delete(attachments_url(rid="shared", name="c.txt"), headers=who.carol)
    # Her grant is on that record only: the others stay hidden from her.
    app.get(attachments_url(), headers=who.carol, status=404)


def test_stranger_sees_nothing(app: webtest.TestApp, who: People) -> None:
    assert attempt(app, who.carol) == {
        "list": 404,
        "post": 404,
        "form": 404,
        "put": 404,
        "delete": 404,
    }
    # Exactly as the record itself, and whether the record exists or not.
    app.get("/api/v1/collections/books/records/dune", headers=who.carol, status=404)
    app.get(attachments_url(rid="missing"), headers=who.carol, status=404)


def test_anonymous(app: webtest.TestApp, who: People) -> None:
    statuses = attempt(app, ANONYMOUS)
    assert statuses == {"list": 401, "post": 401, "form": 401, "put": 401, "delete": 401}


def test_anonymous_reader_of_a_public_collection(app: webtest.TestApp, who: People) -> None:
    create_record(
        app, who.alice, cid="public", collection_permissions={"read": ["system.Everyone"]}
    )
    upload_raw(app, who.alice, b"open", name="o.txt", cid="public")
    listed = app.get(attachments_url(cid="public"), headers=ANONYMOUS).json["data"]
    assert [item["name"] for item in listed] == ["o.txt"]
    upload_raw(app, ANONYMOUS, b"x", name="y.txt", cid="public", status=401)


def test_missing_record(app: webtest.TestApp, who: People) -> None:
    app.get(attachments_url(rid="missing"), headers=who.alice, status=404)
    upload_raw(app, who.alice, b"x", name="x.txt", rid="missing", status=404)
    upload_raw(app, who.alice, b"x", name="x.txt", rid="missing", put=True, status=404)
