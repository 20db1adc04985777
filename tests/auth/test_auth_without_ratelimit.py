"""With rate limiting off, identity is first computed inside the request's transaction (by
pyramid_tm) rather than in the rate limiter before it: both paths refuse and record alike."""

from __future__ import annotations

import pytest

from benben.testing_auth import bearer, login

NO_LIMITS = {"benben.ratelimit.enabled": "false"}


@pytest.fixture
def app(make_app):
    return make_app(NO_LIMITS)


def test_revocation_and_api_token_use_inside_the_transaction(app, create_user):
    create_user("alice")
    tokens = login(app, "alice")
    headers = bearer(tokens["access_token"])
    created = app.post_json("/api/v1/tokens", {"name": "ci", "scopes": ["read"]},
                            headers=headers, status=201).json  # fmt: skip
    app.get("/api/v1/auth/me", headers=bearer(created["token"]))
    item = app.get(f"/api/v1/tokens/{created['id']}", headers=headers).json
    assert item["last_used_at"] is not None
    app.delete(f"/api/v1/tokens/{created['id']}", headers=headers, status=204)
    app.get("/api/v1/auth/me", headers=bearer(created["token"]), status=401)
    app.post("/api/v1/auth/logout", headers=headers, status=204)
    app.get("/api/v1/auth/me", headers=headers, status=401)
    app.get("/api/v1/auth/me", headers=bearer("forged.token.here"), status=401)
