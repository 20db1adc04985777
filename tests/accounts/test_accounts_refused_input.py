"""Names with a trailing newline and NUL characters anywhere in the accounts API: a 400 naming
the field or parameter, never a 500 (PostgreSQL refuses NUL in text) nor a stored oddity."""

from __future__ import annotations

import pytest
from accounts_support import PASSWORD

USERS = "/api/v1/users"
GROUPS = "/api/v1/groups"


def _names(response):
    assert response.content_type == "application/problem+json", response.text
    return [error.get("pointer", error.get("name")) for error in response.json["errors"]]


@pytest.mark.parametrize("name", ["eve\n", "eve\x00", "e\x00ve"])
def test_usernames_and_group_names_are_matched_whole(app, admin, name):
    body = {"username": name, "password": PASSWORD}
    assert _names(app.post_json(USERS, body, headers=admin.headers, status=400)) == ["/username"]
    group = {"name": name}
    assert _names(app.post_json(GROUPS, group, headers=admin.headers, status=400)) == ["/name"]
    usernames = [u["username"] for u in app.get(USERS, headers=admin.headers).json["data"]]
    assert usernames == ["root"]
    assert app.get(GROUPS, headers=admin.headers).json["data"] == []


@pytest.mark.parametrize(("url", "prefix"), [(USERS, "username"), (GROUPS, "name")])
def test_nul_in_a_list_query_is_a_400(app, admin, url, prefix):
    name = f"{prefix}__startswith"
    response = app.get(url, {name: "ro\x00"}, headers=admin.headers, status=400)
    assert _names(response) == [name]
    response = app.get(url, {"_cursor": "x\x00"}, headers=admin.headers, status=400)
    assert _names(response) == ["_cursor"]


@pytest.mark.parametrize("url", [f"{USERS}/x%00", f"{GROUPS}/x%00", f"{GROUPS}/x%00/members"])
def test_nul_in_an_id_of_the_path_is_a_400(app, admin, url):
    response = app.get(url, headers=admin.headers, status=400)
    assert [(e["location"], e["name"]) for e in response.json["errors"]] == [("path", "id")]


def test_a_newline_in_an_id_of_the_path_finds_nothing(app, admin):
    app.get(f"{USERS}/{admin.id}%0a", headers=admin.headers, status=404)
    app.patch_json(f"{USERS}/me%0a", {"display_name": "x"}, headers=admin.headers, status=404)
