"""/api/v1/webhooks: creating, listing, reading, changing and deleting endpoints; validation
problems with pointers; the secret shown once, and rotated."""

from __future__ import annotations

import pytest
from webhooks_support import HOOK_URL, create_collection, create_webhook

VALIDATION = "urn:benben:problem:validation-error"


def pointers(problem):
    assert problem["type"] == VALIDATION
    return [error["pointer"] for error in problem["errors"]]


def test_an_admin_creates_an_endpoint_and_sees_its_secret_once(app, who):
    created = app.post_json(
        "/api/v1/webhooks",
        {"url": HOOK_URL, "event_types": ["record.*"], "description": "sync"},
        headers=who.admin,
        status=201,
    )
    body = created.json
    assert created.headers["Location"].endswith(f"/api/v1/webhooks/{body['id']}")
    assert created.headers["Cache-Control"] == "no-store"
    assert body["secret"].startswith("whsec_")
    assert body["url"] == HOOK_URL
    assert body["event_types"] == ["record.*"]
    assert body["collections"] == []
    assert body["enabled"] is True
    assert body["owner"] == who.ids["root"]
    assert body["max_in_flight"] == 4
    shown = app.get(f"/api/v1/webhooks/{body['id']}", headers=who.admin).json
    assert "secret" not in shown
    assert shown == {key: value for key, value in body.items() if key != "secret"}
    listed = app.get("/api/v1/webhooks", headers=who.admin).json
    assert listed == {"data": [shown], "next": None}
    assert body["secret"] not in app.get("/api/v1/webhooks", headers=who.admin).text


def test_defaults_event_types_to_everything(app, who):
    assert create_webhook(app, who.admin)["event_types"] == ["*"]


def test_list_pages_sorts_and_filters(app, who):
    ids = [create_webhook(app, who.admin, url=f"{HOOK_URL}/{n}")["id"] for n in range(3)]
    app.patch_json(f"/api/v1/webhooks/{ids[1]}", {"enabled": False}, headers=who.admin)
    first = app.get("/api/v1/webhooks?_limit=2&_count=true", headers=who.admin)
    assert [item["id"] for item in first.json["data"]] == ids[:2]
    assert first.json["total"] == 3
    assert first.headers["Total-Records"] == "3"
    second = app.get(first.json["next"], headers=who.admin).json
    assert [item["id"] for item in second["data"]] == ids[2:]
    disabled = app.get("/api/v1/webhooks?enabled=false", headers=who.admin).json["data"]
    assert [item["id"] for item in disabled] == [ids[1]]
    by_url = app.get("/api/v1/webhooks?_sort=-url", headers=who.admin).json["data"]
    assert [item["id"] for item in by_url] == ids[::-1]
    bad = app.get("/api/v1/webhooks?colour=red", headers=who.admin, status=400).json
    assert bad["errors"][0]["name"] == "colour"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "/url"),
        ({"url": 5}, "/url"),
        ({"url": "ftp://hooks.example.org/x"}, "/url"),
        ({"url": "http://hooks.example.org/x"}, "/url"),
        ({"url": "https://user:pw@hooks.example.org/x"}, "/url"),
        ({"url": "https:///no-host"}, "/url"),
        ({"url": "https://hooks.example.org:99999/"}, "/url"),
        ({"url": "https://hooks.example.org/a b"}, "/url"),
        ({"url": "https://x.org/" + "a" * 2048}, "/url"),
        ({"url": HOOK_URL, "event_types": []}, "/event_types"),
        ({"url": HOOK_URL, "event_types": ["record.created", "Record.*"]}, "/event_types/1"),
        ({"url": HOOK_URL, "event_types": ["record.nothing"]}, "/event_types/0"),
        ({"url": HOOK_URL, "event_types": ["record"]}, "/event_types/0"),
        ({"url": HOOK_URL, "collections": ["Not An Id"]}, "/collections/0"),
        ({"url": HOOK_URL, "enabled": "yes"}, "/enabled"),
        ({"url": HOOK_URL, "max_in_flight": 0}, "/max_in_flight"),
        ({"url": HOOK_URL, "description": "x" * 501}, "/description"),
        ({"url": HOOK_URL, "secret": "whsec_mine"}, "/secret"),
    ],
)
def test_invalid_bodies_answer_400_with_the_field(app, who, body, pointer):
    problem = app.post_json("/api/v1/webhooks", body, headers=who.admin, status=400).json
    assert pointer in pointers(problem)
    assert app.get("/api/v1/webhooks", headers=who.admin).json["data"] == []


def test_plugin_event_types_and_patterns_are_accepted(app, who):
    types = ["backups.finished", "files.*", "record.created", "*", "record.created"]
    body = create_webhook(app, who.admin, event_types=types)
    assert body["event_types"] == ["backups.finished", "files.*", "record.created", "*"]


def test_plain_http_only_to_allowed_networks_or_when_allowed(app, make_app, who):
    local = create_webhook(app, who.admin, url="http://127.0.0.1:8080/hook")
    assert local["url"] == "http://127.0.0.1:8080/hook"
    problem = create_webhook(app, who.admin, 400, url="http://10.1.2.3/hook")
    assert pointers(problem) == ["/url"]
    lenient = make_app({"benben.webhooks.allow_http": "on"})
    headers = {"Authorization": who.admin["Authorization"]}
    assert create_webhook(lenient, headers, url="http://hooks.example.org/x")["id"]


def test_patch_merges_and_keeps_what_is_not_given(app, who):
    created = create_webhook(app, who.admin, description="one", event_types=["record.*"])
    url = f"/api/v1/webhooks/{created['id']}"
    changed = app.patch_json(url, {"description": "two"}, headers=who.admin).json
    assert changed["description"] == "two"
    assert changed["event_types"] == ["record.*"]
    assert changed["url"] == HOOK_URL
    assert changed["updated_at"] >= created["updated_at"]
    changed = app.patch_json(
        url, {"url": f"{HOOK_URL}/v2", "max_in_flight": 9}, headers=who.admin
    ).json
    assert (changed["url"], changed["max_in_flight"]) == (f"{HOOK_URL}/v2", 9)
    assert app.get(url, headers=who.admin).json == changed
    problem = app.patch_json(url, {"url": "ftp://x"}, headers=who.admin, status=400).json
    assert pointers(problem) == ["/url"]
    problem = app.patch_json(url, {"owner": "someone"}, headers=who.admin, status=400).json
    assert pointers(problem) == ["/owner"]
    assert app.get(url, headers=who.admin).json == changed


def test_re_enabling_clears_what_disabled_it(app, who):
    from webhooks_support import session_of

    from benben_webhooks.jsonview import utcnow
    from benben_webhooks.models import Endpoint

    created = create_webhook(app, who.admin)
    with session_of(app.app.registry) as session:
        endpoint = session.get(Endpoint, created["id"])
        endpoint.enabled = False
        endpoint.disabled_reason = "failing since 2026-12-01T00:00:00Z"
        endpoint.failing_since = utcnow()
    url = f"/api/v1/webhooks/{created['id']}"
    shown = app.get(url, headers=who.admin).json
    assert shown["disabled_reason"]
    assert shown["failing_since"]
    assert not shown["enabled"]
    enabled = app.patch_json(url, {"enabled": True}, headers=who.admin).json
    assert enabled["enabled"] is True
    assert enabled["disabled_reason"] is None
    assert enabled["failing_since"] is None


def test_delete(app, who):
    created = create_webhook(app, who.admin)
    url = f"/api/v1/webhooks/{created['id']}"
    app.delete(url, headers=who.admin, status=204)
    app.get(url, headers=who.admin, status=404)
    app.delete(url, headers=who.admin, status=404)


def test_rotation_shows_the_new_secret_once_and_keeps_the_old_one_signing(app, who):
    created = create_webhook(app, who.admin)
    url = f"/api/v1/webhooks/{created['id']}"
    assert created["previous_secret_expires_at"] is None
    rotated = app.post(f"{url}/secret/rotate", headers=who.admin, status=201)
    assert rotated.headers["Cache-Control"] == "no-store"
    assert rotated.json["secret"].startswith("whsec_")
    assert rotated.json["secret"] != created["secret"]
    assert rotated.json["previous_secret_expires_at"] is not None
    shown = app.get(url, headers=who.admin).json
    assert "secret" not in shown
    assert shown["previous_secret_expires_at"] == rotated.json["previous_secret_expires_at"]


def test_rotation_without_overlap_drops_the_old_secret(make_app, who, app):
    strict = make_app({"benben.webhooks.secret_overlap_hours": "0"})
    created = create_webhook(strict, who.admin)
    rotated = strict.post(
        f"/api/v1/webhooks/{created['id']}/secret/rotate", headers=who.admin, status=201
    ).json
    assert rotated["previous_secret_expires_at"] is None


def test_a_collection_subscription_by_its_owner(app, who):
    create_collection(app, who.alice, "notes")
    body = create_webhook(app, who.alice, collections=["notes", "notes"], event_types=["record.*"])
    assert body["collections"] == ["notes"]
    assert body["owner"] == who.ids["alice"]


def test_bad_settings_stop_start_up(make_app):
    from pyramid.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="allowed_networks"):
        make_app({"benben.webhooks.allowed_networks": "10.0.0.1/8"})
    with pytest.raises(ConfigurationError, match="timeout"):
        make_app({"benben.webhooks.timeout": "0"})
