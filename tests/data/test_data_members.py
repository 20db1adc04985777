"""Record members added by plugins (``add_record_member``, ``set_record_member``) and the
context factories plugins' routes use (``RecordContext``, ``CollectionContext``)."""

from __future__ import annotations

from typing import Any

import pytest
import webtest
from pyramid.exceptions import ConfigurationError

from benben.plugin import (
    CHANGE_PERMISSIONS,
    READ,
    WRITE,
    CollectionContext,
    RecordContext,
    record_member,
    set_record_member,
)
from benben.testing_auth import FAST_PASSWORD_HASHING, add_user, bearer, login

RECORDS = "/api/v1/collections/books/records"


def _stars_routes(config: Any) -> None:
    config.add_record_member("stars", {"type": "integer"})
    config.add_route(
        "stars", "/api/v1/collections/{cid}/records/{rid}/stars", factory=RecordContext
    )
    config.add_route("shelf", "/api/v1/collections/{cid}/shelf", factory=CollectionContext)

    def read_stars(request: Any) -> Any:
        return {"stars": record_member(request.context.record, "stars")}

    def set_stars(request: Any) -> Any:
        value = request.json_body.get("stars")
        record = set_record_member(request, request.context, "stars", value)
        return {"last_modified": record.last_modified}

    def shelf(request: Any) -> Any:
        return {"collection": request.context.collection.id}

    config.add_view(
        read_stars, route_name="stars", request_method="GET", renderer="json", permission=READ
    )
    config.add_view(
        set_stars,
        route_name="stars",
        request_method=("POST", "PUT"),
        renderer="json",
        permission=WRITE,
    )
    config.add_view(
        shelf,
        route_name="shelf",
        request_method="PUT",
        renderer="json",
        permission=CHANGE_PERMISSIONS,
    )


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {**app_settings, **FAST_PASSWORD_HASHING}


@pytest.fixture
def app(make_app: Any) -> webtest.TestApp:
    return make_app(include=_stars_routes)


@pytest.fixture
def who(app: webtest.TestApp) -> dict[str, dict[str, str]]:
    registry = app.app.registry
    for name, admin in (("root", True), ("alice", False), ("bob", False)):
        add_user(registry, name, is_admin=admin)
    headers = {name: bearer(login(app, name)["access_token"]) for name in ("root", "alice", "bob")}
    app.post_json("/api/v1/collections", {"id": "books"}, headers=headers["alice"], status=201)
    app.put_json(f"{RECORDS}/emma", {"data": {"title": "Emma"}}, headers=headers["alice"])
    return headers


def test_a_member_is_written_with_the_record(app: webtest.TestApp, who: Any) -> None:
    before = app.get(f"{RECORDS}/emma", headers=who["alice"])
    assert "stars" not in before.json
    written = app.post_json(f"{RECORDS}/emma/stars", {"stars": 4}, headers=who["alice"]).json
    after = app.get(f"{RECORDS}/emma", headers=who["alice"])
    assert after.json["stars"] == 4
    assert after.json["data"] == {"title": "Emma"}
    assert after.json["last_modified"] == written["last_modified"] > before.json["last_modified"]
    assert after.headers["ETag"] != before.headers["ETag"]
    # The read cache, lists and _since syncs see it: the collection's version moved.
    listed = app.get(RECORDS, headers=who["alice"]).json["data"]
    assert listed[0]["stars"] == 4
    since = app.get(f"{RECORDS}?_since={before.json['last_modified']}", headers=who["alice"])
    assert [r["id"] for r in since.json["data"]] == ["emma"]
    history = app.get("/api/v1/collections/books/history", headers=who["alice"]).json["data"]
    assert history[0]["action"] == "update"
    assert history[0]["record_id"] == "emma"
    events = app.get("/api/v1/events", headers=who["root"]).json["data"]
    assert events[-1]["type"] == "record.updated"
    assert events[-1]["data"]["id"] == "emma"


def test_replace_keeps_members_and_a_deleted_record_drops_them(
    app: webtest.TestApp, who: Any
) -> None:
    app.post_json(f"{RECORDS}/emma/stars", {"stars": 5}, headers=who["alice"])
    app.put_json(f"{RECORDS}/emma", {"data": {"title": "Emma!"}}, headers=who["alice"])
    app.patch_json(f"{RECORDS}/emma", {"data": {"year": 1815}}, headers=who["alice"])
    kept = app.get(f"{RECORDS}/emma", headers=who["alice"]).json
    assert kept["stars"] == 5
    assert kept["data"] == {"title": "Emma!", "year": 1815}
    app.post_json(f"{RECORDS}/emma/stars", {"stars": None}, headers=who["alice"])
    assert "stars" not in app.get(f"{RECORDS}/emma", headers=who["alice"]).json
    app.post_json(f"{RECORDS}/emma/stars", {"stars": 2}, headers=who["alice"])
    app.delete(f"{RECORDS}/emma", headers=who["alice"])
    app.put_json(f"{RECORDS}/emma", {"data": {"title": "Again"}}, headers=who["alice"], status=201)
    assert "stars" not in app.get(f"{RECORDS}/emma", headers=who["alice"]).json


def test_record_context_follows_the_record_and_never_creates(
    app: webtest.TestApp, who: Any
) -> None:
    app.get(f"{RECORDS}/emma/stars", headers=who["bob"], status=404)
    app.post_json(f"{RECORDS}/emma/stars", {"stars": 1}, headers=who["bob"], status=404)
    app.get(f"{RECORDS}/emma/stars", status=401)
    # A PUT under a missing record is a 404, even for one who may create records.
    app.put_json(f"{RECORDS}/nobody/stars", {"stars": 1}, headers=who["alice"], status=404)
    app.put_json(
        f"{RECORDS}/emma",
        {"data": {}, "permissions": {"read": ["system.Authenticated"]}},
        headers=who["alice"],
    )
    assert app.get(f"{RECORDS}/emma/stars", headers=who["bob"]).json == {"stars": None}
    app.post_json(f"{RECORDS}/emma/stars", {"stars": 1}, headers=who["bob"], status=403)


def test_collection_context_never_creates(app: webtest.TestApp, who: Any) -> None:
    assert app.put_json("/api/v1/collections/books/shelf", {}, headers=who["alice"]).json == {
        "collection": "books"
    }
    app.put_json("/api/v1/collections/books/shelf", {}, headers=who["bob"], status=404)
    app.put_json("/api/v1/collections/nothing/shelf", {}, headers=who["alice"], status=404)


@pytest.mark.parametrize("name", ["data", "id", "permissions", "_private", ""])
def test_core_members_cannot_be_taken(make_app: Any, name: str) -> None:
    with pytest.raises(ConfigurationError, match="record member"):
        make_app(include=lambda config: config.add_record_member(name, {}))
