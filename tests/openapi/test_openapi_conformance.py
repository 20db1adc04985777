"""Real responses, on real resources, are what the served document says: status documented, media
type, body schema.  (schemathesis mostly meets missing resources; these walk the happy paths.)"""

from __future__ import annotations

from typing import Any

import pytest
import webtest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from benben.testing_auth import add_user, bearer, login

URI = "urn:benben:openapi"


class Document:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry = Registry().with_resource(URI, resource)
        self.checked: list[str] = []

    def _resolve(self, entry: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in entry:
            section, name = entry["$ref"].split("/")[-2:]
            entry = self.document["components"][section][name]
        return entry

    def check(self, path: str, method: str, response: webtest.TestResponse) -> None:
        """Fail unless ``response`` is one the document allows for ``method path``."""
        where = f"{method.upper()} {path} -> {response.status_code}"
        operation = self.document["paths"][path][method]
        responses = operation["responses"]
        assert str(response.status_code) in responses, f"{where}: status not documented"
        entry = self._resolve(responses[str(response.status_code)])
        content = entry.get("content")
        if not content or method == "head":
            assert response.body == b"", f"{where}: a body where none is documented"
            return
        assert response.content_type in content, f"{where}: {response.content_type}"
        schema = content[response.content_type]["schema"]
        pointer = self._pointer(path, method, response, schema)
        validator = Draft202012Validator({"$ref": URI + pointer}, registry=self.registry)
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(response.json)]
        assert errors == [], f"{where}: {errors}"
        self.checked.append(where)

    def _pointer(
        self, path: str, method: str, response: webtest.TestResponse, schema: dict[str, Any]
    ) -> str:
        if "$ref" in schema:
            return schema["$ref"]
        escaped = path.replace("~", "~0").replace("/", "~1")
        media = response.content_type.replace("/", "~1")
        return f"#/paths/{escaped}/{method}/responses/{response.status_code}/content/{media}/schema"


@pytest.fixture
def document(app: webtest.TestApp) -> Document:
    return Document(app.get("/api/v1/openapi.json").json)


def test_accounts_responses_match_the_document(
    app: webtest.TestApp, admin_headers: dict[str, str], document: Document
) -> None:
    check = document.check
    created = app.post_json(
        "/api/v1/users",
        {"username": "alice", "password": "x" * 16, "email": "alice@example.org"},
        headers=admin_headers,
        status=201,
    )
    check("/api/v1/users", "post", created)
    alice_id = created.json["id"]
    check("/api/v1/users", "get", app.get("/api/v1/users?_limit=1", headers=admin_headers))
    check("/api/v1/users", "head", app.head("/api/v1/users", headers=admin_headers))
    check(
        "/api/v1/users",
        "post",
        app.post_json(
            "/api/v1/users",
            {"username": "ALICE", "password": "x" * 16},
            headers=admin_headers,
            status=409,
        ),
    )
    check(
        "/api/v1/users",
        "post",
        app.post_json("/api/v1/users", {"nick": 1}, headers=admin_headers, status=400),
    )
    item = f"/api/v1/users/{alice_id}"
    check("/api/v1/users/{id}", "get", app.get(item, headers=admin_headers))
    check(
        "/api/v1/users/{id}",
        "patch",
        app.patch_json(item, {"display_name": "Alice"}, headers=admin_headers),
    )
    alice = bearer(login(app, "alice", "x" * 16)["access_token"])
    changed = app.patch_json(
        item, {"password": "y" * 16, "current_password": "x" * 16}, headers=alice
    )
    assert "session" in changed.json
    check("/api/v1/users/{id}", "patch", changed)
    check(
        "/api/v1/users/{id}",
        "patch",
        app.patch_json(
            item,
            {"is_admin": True},
            headers=bearer(changed.json["session"]["access_token"]),
            status=403,
        ),
    )
    check("/api/v1/users", "get", app.get("/api/v1/users", status=401))

    group = app.post_json("/api/v1/groups", {"name": "staff"}, headers=admin_headers, status=201)
    check("/api/v1/groups", "post", group)
    check("/api/v1/groups", "get", app.get("/api/v1/groups", headers=admin_headers))
    group_item = f"/api/v1/groups/{group.json['id']}"
    check("/api/v1/groups/{id}", "get", app.get(group_item, headers=admin_headers))
    check(
        "/api/v1/groups/{id}",
        "patch",
        app.patch_json(group_item, {"description": "d"}, headers=admin_headers),
    )
    members = f"{group_item}/members"
    check(
        "/api/v1/groups/{id}/members",
        "post",
        app.post_json(members, {"username": "alice"}, headers=admin_headers, status=201),
    )
    check(
        "/api/v1/groups/{id}/members",
        "post",
        app.post_json(members, {"user_id": alice_id}, headers=admin_headers, status=200),
    )
    check("/api/v1/groups/{id}/members", "get", app.get(members, headers=admin_headers))
    member = f"{members}/{alice_id}"
    check("/api/v1/groups/{id}/members/{user_id}", "get", app.get(member, headers=admin_headers))
    check("/api/v1/groups/{id}/members/{user_id}", "put", app.put(member, headers=admin_headers))
    check(
        "/api/v1/groups/{id}/members/{user_id}",
        "delete",
        app.delete(member, headers=admin_headers, status=204),
    )
    check(
        "/api/v1/groups/{id}/members/{user_id}",
        "get",
        app.get(member, headers=admin_headers, status=404),
    )
    check("/api/v1/groups/{id}", "delete", app.delete(group_item, headers=admin_headers))
    check("/api/v1/users/{id}", "delete", app.delete(item, headers=admin_headers, status=204))
    assert len(document.checked) >= 15


def test_data_responses_match_the_document(
    app: webtest.TestApp, admin_headers: dict[str, str], document: Document
) -> None:
    check = document.check
    schema = {"type": "object", "properties": {"price": {"type": "number"}}}
    created = app.post_json(
        "/api/v1/collections",
        {"id": "shop", "title": "Shop", "schema": schema, "indexed_fields": ["price"]},
        headers=admin_headers,
        status=201,
    )
    check("/api/v1/collections", "post", created)
    check("/api/v1/collections", "get", app.get("/api/v1/collections", headers=admin_headers))
    check(
        "/api/v1/collections/{cid}",
        "get",
        app.get("/api/v1/collections/shop", headers=admin_headers),
    )
    check(
        "/api/v1/collections/{cid}",
        "patch",
        app.patch_json(
            "/api/v1/collections/shop", {"description": "Things"}, headers=admin_headers
        ),
    )
    records = "/api/v1/collections/shop/records"
    record = app.post_json(records, {"data": {"price": 3}}, headers=admin_headers, status=201)
    check("/api/v1/collections/{cid}/records", "post", record)
    check(
        "/api/v1/collections/{cid}/records",
        "post",
        app.post_json(records, {"data": {"price": "x"}}, headers=admin_headers, status=400),
    )
    check(
        "/api/v1/collections/{cid}/records",
        "get",
        app.get(
            records, {"price__gt": "1", "_sort": "-price", "_count": "true"}, headers=admin_headers
        ),
    )
    item = f"{records}/{record.json['id']}"
    got = app.get(item, headers=admin_headers)
    check("/api/v1/collections/{cid}/records/{rid}", "get", got)
    check(
        "/api/v1/collections/{cid}/records/{rid}",
        "put",
        app.put_json(item, {"data": {"price": 4}}, headers=admin_headers),
    )
    check(
        "/api/v1/collections/{cid}/records/{rid}",
        "put",
        app.put_json(
            item,
            {"data": {"price": 5}},
            headers={**admin_headers, "If-Match": got.headers["ETag"]},
            status=412,
        ),
    )
    check(
        "/api/v1/collections/{cid}/records/{rid}",
        "patch",
        app.patch(
            item,
            '{"data": {"price": 6}}',
            headers={**admin_headers, "Content-Type": "application/merge-patch+json"},
        ),
    )
    check(
        "/api/v1/collections/{cid}/records/{rid}", "delete", app.delete(item, headers=admin_headers)
    )
    check(
        "/api/v1/collections/{cid}/history",
        "get",
        app.get("/api/v1/collections/shop/history", headers=admin_headers),
    )
    check(
        "/api/v1/collections/{cid}/records",
        "get",
        app.get(records, {"_since": "0"}, headers=admin_headers),
    )
    check(
        "/api/v1/collections/{cid}",
        "delete",
        app.delete("/api/v1/collections/shop", headers=admin_headers),
    )
    check(
        "/api/v1/collections/{cid}",
        "get",
        app.get("/api/v1/collections/shop", headers=admin_headers, status=404),
    )


def test_an_ordinary_user_gets_documented_refusals(
    app: webtest.TestApp, document: Document
) -> None:
    add_user(app.app.registry, "bob")
    bob = bearer(login(app, "bob")["access_token"])
    document.check("/api/v1/users", "get", app.get("/api/v1/users", headers=bob, status=403))
    document.check(
        "/api/v1/groups",
        "post",
        app.post_json("/api/v1/groups", {"name": "x1"}, headers=bob, status=403),
    )
    document.check("/api/v1/auth/me", "get", app.get("/api/v1/auth/me", headers=bob))
