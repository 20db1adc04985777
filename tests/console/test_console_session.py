"""``/admin/session``: login, refresh and logout with the refresh token in an HttpOnly cookie,
guarded against cross-site requests."""

from __future__ import annotations

import pytest

from benben.testing_auth import DEFAULT_PASSWORD

CONSOLE = {"X-Benben-Console": "1", "Origin": "http://localhost"}
COOKIE = "benben_console_refresh"


def set_cookies(response) -> dict[str, str]:
    """Set-Cookie headers by cookie name (their whole text)."""
    return {v.split("=", 1)[0]: v for k, v in response.headerlist if k == "Set-Cookie"}


def cookie_value(response) -> str:
    return set_cookies(response)[COOKIE].split(";", 1)[0].split("=", 1)[1]


def with_cookie(token: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    return {**CONSOLE, **(headers or {}), "Cookie": f"{COOKIE}={token}"}


@pytest.fixture
def alice(create_user):
    return create_user("alice", display_name="Alice")


def log_in(app, username="alice"):
    body = {"login": username, "password": DEFAULT_PASSWORD}
    return app.post_json("/admin/session", body, headers=CONSOLE)


def test_login_answers_the_access_token_and_sets_the_refresh_cookie(app, alice):
    response = log_in(app)
    body = response.json
    assert set(body) >= {"access_token", "expires_in", "user", "me"}
    assert "refresh_token" not in body
    assert body["user"]["username"] == "alice"
    assert response.headers["Cache-Control"] == "no-store"
    cookie = set_cookies(response)[COOKIE]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite", "path", "max-age"} <= attributes
    assert "Path=/admin/session" in cookie
    assert "SameSite=Strict" in cookie
    assert cookie_value(response).startswith("bbr_")
    # The access token works on the API.
    me = app.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json["user"]["id"] == alice


def test_the_cookie_can_be_made_not_secure_for_plain_http_trials(make_app, create_user):
    app = make_app({"benben.console.secure_cookie": "false"})
    from benben.testing_auth import add_user

    add_user(app.app.registry, "bob")
    cookie = set_cookies(log_in(app, "bob"))[COOKIE]
    assert "secure" not in cookie.lower()
    assert "HttpOnly" in cookie


def test_a_wrong_password_is_core_s_401_and_sets_no_cookie(app, alice):
    body = {"login": "alice", "password": "wrong"}
    response = app.post_json("/admin/session", body, headers=CONSOLE, status=401)
    assert response.content_type == "application/problem+json"
    assert response.json["title"] == "Login failed"
    assert COOKIE not in set_cookies(response)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"not json", "application/json"), (b"[1, 2]", "application/json"), (b"", "text/plain")],
)
def test_a_bad_body_is_a_400_problem(app, alice, body, content_type):
    headers = {**CONSOLE, "Content-Type": content_type}
    response = app.post("/admin/session", body, headers=headers, status=400)
    assert response.content_type == "application/problem+json"


def test_a_body_missing_fields_is_core_s_400_with_pointers(app, alice):
    response = app.post_json("/admin/session", {"login": "alice"}, headers=CONSOLE, status=400)
    assert any(e.get("pointer") == "/password" for e in response.json["errors"])


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/admin/session"), ("post", "/admin/session/refresh"), ("delete", "/admin/session")],
)
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://localhost"},  # no custom header
        {"X-Benben-Console": "yes", "Origin": "http://localhost"},
        {"X-Benben-Console": "1", "Origin": "https://evil.example"},
        {"X-Benben-Console": "1", "Origin": "http://localhost:8080"},
        {"X-Benben-Console": "1", "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_cross_site_requests_are_refused(app, alice, method, path, headers):
    token = cookie_value(log_in(app))
    headers = {**headers, "Cookie": f"{COOKIE}={token}"}
    call = getattr(app, f"{method}_json")
    response = call(
        path, {"login": "alice", "password": DEFAULT_PASSWORD}, headers=headers, status=403
    )
    assert response.content_type == "application/problem+json"
    assert COOKIE not in set_cookies(response)
    # The refused refresh spent nothing: the token still refreshes.
    app.post("/admin/session/refresh", headers=with_cookie(token), status=200)


def test_refresh_rotates_the_cookie(app, alice):
    first = cookie_value(log_in(app))
    response = app.post("/admin/session/refresh", headers=with_cookie(first))
    assert response.json["user"]["username"] == "alice"
    assert response.json["access_token"]
    second = cookie_value(response)
    assert second != first
    # The spent token is refused (and, a re-use, ends the session), and the cookie cleared.
    reused = app.post("/admin/session/refresh", headers=with_cookie(first), status=401)
    assert "Max-Age=0" in set_cookies(reused)[COOKIE]
    app.post("/admin/session/refresh", headers=with_cookie(second), status=401)


def test_refresh_without_a_cookie_is_a_401(app):
    response = app.post("/admin/session/refresh", headers=CONSOLE, status=401)
    assert response.content_type == "application/problem+json"


def test_refresh_with_a_garbage_cookie_is_refused_and_clears_it(app):
    response = app.post("/admin/session/refresh", headers=with_cookie("nonsense"), status="4*")
    assert response.status_code in (400, 401)
    assert "Max-Age=0" in set_cookies(response)[COOKIE]


def test_logout_ends_the_session_and_clears_the_cookie(app, alice):
    login = log_in(app)
    token, access = cookie_value(login), login.json["access_token"]
    auth = {"Authorization": f"Bearer {access}"}
    response = app.delete("/admin/session", headers=with_cookie(token, auth), status=204)
    cookie = set_cookies(response)[COOKIE]
    assert "Max-Age=0" in cookie
    assert "Path=/admin/session" in cookie
    app.get("/api/v1/auth/me", headers=auth, status=401)
    app.post("/admin/session/refresh", headers=with_cookie(token), status=401)


def test_logout_without_the_access_token_ends_the_session_through_the_cookie(app, alice):
    login = log_in(app)
    token, access = cookie_value(login), login.json["access_token"]
    app.delete("/admin/session", headers=with_cookie(token), status=204)
    app.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access}"}, status=401)


def test_logout_with_nothing_still_clears_the_cookie(app):
    response = app.delete("/admin/session", headers=CONSOLE, status=204)
    assert "Max-Age=0" in set_cookies(response)[COOKIE]
