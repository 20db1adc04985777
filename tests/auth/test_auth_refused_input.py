"""Login names and API token names holding a NUL character (which PostgreSQL refuses in text):
a 400 pointing at the member, never a 500, on both backends."""

from __future__ import annotations

import pytest

from benben.testing_auth import DEFAULT_PASSWORD


def _pointers(response):
    assert response.content_type == "application/problem+json", response.text
    return [error["pointer"] for error in response.json["errors"]]


@pytest.mark.parametrize("username", ["alice\x00", "\x00", "al\udc00ice"])
def test_a_login_name_with_nul_or_a_lone_surrogate_is_a_400(app, alice, username):
    body = {"username": username, "password": DEFAULT_PASSWORD}
    response = app.post_json("/api/v1/auth/login", body, status=400)
    assert _pointers(response) == ["/username"]


def test_a_login_name_is_compared_whole_once_trimmed(app, alice):
    # Surrounding white space is trimmed (a pasted name); inside, a newline is no one's name.
    body = {"username": "ali\nce", "password": DEFAULT_PASSWORD}
    app.post_json("/api/v1/auth/login", body, status=401)


def test_a_password_with_nul_is_a_400(app, alice):
    body = {"username": "alice", "password": DEFAULT_PASSWORD + "\x00"}
    assert _pointers(app.post_json("/api/v1/auth/login", body, status=400)) == ["/password"]


def test_an_api_token_name_with_nul_is_a_400(app, alice):
    body = {"name": "de\x00ploy", "scopes": ["read"]}
    response = app.post_json("/api/v1/tokens", body, headers=alice["headers"], status=400)
    assert _pointers(response) == ["/name"]
    assert app.get("/api/v1/tokens", headers=alice["headers"]).json["data"] == []
