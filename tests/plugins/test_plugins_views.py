"""``GET /api/v1/plugins`` and ``/api/v1/plugins/{name}``: administrators only; every installed
plugin with its status, and what each enabled one registered."""

from __future__ import annotations

import json
from typing import Any

import pytest

from benben.plugins import enabled_plugins, installed_plugins
from benben.plugins.introspection import plugin_registrations
from benben.testing_auth import FAST_PASSWORD_HASHING, add_user, bearer, login


@pytest.fixture
def app_settings(backends: Any) -> dict[str, Any]:
    return {**backends.settings(), **FAST_PASSWORD_HASHING, "benben.ratelimit.enabled": "false"}


def _admin(app: Any) -> dict[str, str]:
    add_user(app.app.registry, "root", is_admin=True)
    return bearer(login(app, "root")["access_token"])


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def test_anonymous_is_401_a_user_403(app):
    assert app.get("/api/v1/plugins", status=401).content_type == "application/problem+json"
    assert app.get("/api/v1/plugins/files", status=401).content_type == "application/problem+json"
    add_user(app.app.registry, "ann")
    headers = bearer(login(app, "ann")["access_token"])
    assert app.get("/api/v1/plugins", headers=headers, status=403).json["status"] == 403
    app.get("/api/v1/plugins/files", headers=headers, status=403)


def test_an_administrator_sees_every_plugin_and_what_it_registered(app):
    headers = _admin(app)
    registry = app.app.registry

    body = app.get("/api/v1/plugins", headers=headers).json

    assert body["next"] is None
    assert [p["name"] for p in body["data"]] == sorted(p.name for p in installed_plugins(registry))
    for item in body["data"]:
        assert item["id"] == item["name"]
        assert item["status"] == "enabled"
        assert item["reason"] == ""
        report = _as_json(plugin_registrations(registry, item["name"]))
        assert item["registrations"] == report["registrations"]
        assert item["settings"] == report["settings"]
        assert item["version"] == report["version"]
        assert app.get(f"/api/v1/plugins/{item['name']}", headers=headers).json == item
    files = next(p for p in body["data"] if p["name"] == "files")
    assert "files.attachment" in {r["name"] for r in files["registrations"]["routes"]}
    assert all(":" in r["source"] for r in files["registrations"]["tasks"])


def test_unknown_plugin_is_a_404_problem(app):
    headers = _admin(app)
    response = app.get("/api/v1/plugins/nosuch", headers=headers, status=404)
    assert response.content_type == "application/problem+json"
    assert response.json["detail"] == "no installed plugin has this name"


def test_disabled_plugin_is_listed_with_the_reason_and_no_registrations(make_app):
    app = make_app({"benben.plugins.disabled": "backstage"})
    headers = _admin(app)

    item = app.get("/api/v1/plugins/backstage", headers=headers).json

    assert item["status"] == "disabled"
    assert item["reason"] == "listed in benben.plugins.disabled"
    assert item["registrations"] is None
    disabled = app.get("/api/v1/plugins", {"status": "disabled"}, headers=headers).json["data"]
    assert [p["name"] for p in disabled] == ["backstage"]
    enabled = app.get("/api/v1/plugins", {"status": "enabled"}, headers=headers).json["data"]
    assert [p["name"] for p in enabled] == sorted(p.name for p in enabled_plugins(app.app.registry))
    assert "backstage" not in {p["name"] for p in enabled}


def test_a_bad_status_filter_is_a_400_naming_it(app):
    headers = _admin(app)
    response = app.get("/api/v1/plugins", {"status": "sleeping"}, headers=headers, status=400)
    assert [(e["location"], e["name"]) for e in response.json["errors"]] == [
        ("querystring", "status")
    ]


def test_pages_follow_the_list_convention(app):
    headers = _admin(app)
    names = [p["name"] for p in app.get("/api/v1/plugins", headers=headers).json["data"]]
    seen, url = [], "/api/v1/plugins?_limit=1&_sort=-name&_count=true"
    while url:
        page = app.get(url, headers=headers).json
        assert page["total"] == len(names)
        seen.extend(p["name"] for p in page["data"])
        url = page["next"]
    assert seen == sorted(names, reverse=True)
