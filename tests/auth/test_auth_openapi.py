"""Real responses of the auth endpoints match the OpenAPI document the app generates."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from benben.testing_auth import DEFAULT_PASSWORD as PASSWORD
from benben.testing_auth import bearer

URI = "urn:benben:openapi"


@pytest.fixture
def openapi(app):
    return app.get("/api/v1/openapi.json").json


# Lists document these, but send them only when they apply (tests/test_list_conventions.py
# checks them): Link not on the last page, Total-Records only with _count=true.
CONDITIONAL_HEADERS = {"Link", "Total-Records"}


def check(openapi, path, method, response):
    documented = openapi["paths"][path][method]["responses"]
    entry = documented.get(str(response.status_code), documented["default"])
    if "$ref" in entry:
        entry = openapi["components"]["responses"][entry["$ref"].rsplit("/", 1)[1]]
    if "content" not in entry:
        assert response.body == b""
        return
    schema = entry["content"][response.content_type]["schema"]
    registry = Registry().with_resource(
        URI, Resource.from_contents(openapi, default_specification=DRAFT202012)
    )
    validator = Draft202012Validator({"$ref": URI + schema["$ref"]}, registry=registry)
    errors = [error.message for error in validator.iter_errors(response.json)]
    assert errors == [], f"{method.upper()} {path} {response.status_code}: {errors}"
    for header in entry.get("headers", {}):
        if header not in CONDITIONAL_HEADERS:
            assert header in response.headers, header


def test_auth_responses_match_the_document(openapi, app, create_user):
    create_user("alice")
    login = app.post_json("/api/v1/auth/login", {"username": "alice", "password": PASSWORD})
    check(openapi, "/api/v1/auth/login", "post", login)
    failed = app.post_json("/api/v1/auth/login", {"username": "x", "password": "y"}, status=401)
    check(openapi, "/api/v1/auth/login", "post", failed)
    headers = bearer(login.json["access_token"])
    check(openapi, "/api/v1/auth/me", "get", app.get("/api/v1/auth/me", headers=headers))
    created = app.post_json("/api/v1/tokens", {"name": "ci", "scopes": ["read", "write"]},
                            headers=headers, status=201)  # fmt: skip
    check(openapi, "/api/v1/tokens", "post", created)
    check(openapi, "/api/v1/tokens", "get", app.get("/api/v1/tokens", headers=headers))
    item = f"/api/v1/tokens/{created.json['id']}"
    check(openapi, "/api/v1/tokens/{id}", "get", app.get(item, headers=headers))
    check(openapi, "/api/v1/auth/me", "get",
          app.get("/api/v1/auth/me", headers=bearer(created.json["token"])))  # fmt: skip
    check(openapi, "/api/v1/tokens/{id}", "delete", app.delete(item, headers=headers))
    refreshed = app.post_json("/api/v1/auth/refresh",
                              {"refresh_token": login.json["refresh_token"]})  # fmt: skip
    check(openapi, "/api/v1/auth/refresh", "post", refreshed)
    logout = app.post("/api/v1/auth/logout",
                      headers=bearer(refreshed.json["access_token"]), status=204)  # fmt: skip
    check(openapi, "/api/v1/auth/logout", "post", logout)
    check(openapi, "/api/v1/auth/me", "get", app.get("/api/v1/auth/me", status=401))
