"""API token names: unique among the owner's tokens not revoked; revoked and expired tokens'
names can be used again, and the database decides between concurrent creations."""

from __future__ import annotations

import datetime

from benben.auth import api_tokens
from benben.security.models import ApiToken
from benben.testing_auth import bearer

TOKENS = "/api/v1/tokens"


def create(app, headers, name, status=201):
    return app.post_json(TOKENS, {"name": name, "scopes": ["read"]}, headers=headers, status=status)


def listed(app, headers):
    body = app.get(TOKENS, headers=headers).json
    return {token["id"]: token for token in body.get("data", body.get("items"))}


def test_revoking_or_expiring_a_token_frees_its_name(app, alice, registry, monkeypatch):
    headers = alice["headers"]
    first = create(app, headers, "deploy").json
    taken = create(app, headers, "deploy", status=409)
    assert taken.json["errors"][0]["pointer"] == "/name"
    assert "revoke it" in taken.json["detail"]

    app.delete(f"{TOKENS}/{first['id']}", headers=headers, status=204)
    second = create(app, headers, "deploy").json
    assert second["id"] != first["id"]
    app.get("/api/v1/auth/me", headers=bearer(first["token"]), status=401)  # still revoked
    app.get("/api/v1/auth/me", headers=bearer(second["token"]), status=200)
    create(app, headers, "deploy", status=409)  # the new one holds the name

    # An expired token can never be used again: it is revoked to free its name.
    nightly = create(app, headers, "nightly").json
    with registry["benben.db.engine"].begin() as connection:
        connection.execute(
            ApiToken.__table__.update()
            .where(ApiToken.id == nightly["id"])
            .values(expires_at=datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC))
        )
    renewed = create(app, headers, "nightly").json
    tokens = listed(app, headers)
    assert tokens[nightly["id"]]["revoked_at"] is not None
    assert tokens[renewed["id"]]["revoked_at"] is None
    assert tokens[first["id"]]["name"] == tokens[second["id"]]["name"] == "deploy"

    # Two creations at once both find the name free; the unique index refuses the second: 409.
    monkeypatch.setattr(api_tokens, "_free_name", lambda *args: None)
    raced = create(app, headers, "nightly", status=409)
    assert raced.json["errors"][0]["pointer"] == "/name"
    assert len(listed(app, headers)) == 4
