"""A trailing slash too many or too few: 308 to the route that exists, else the usual 404."""

from __future__ import annotations

from urllib.parse import urlsplit

from pyramid.urldispatch import Route

from benben.testing_auth import add_user
from benben.trailing_slash import other_slash_form


def location(response) -> str:
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "localhost", "localhost:80"), parts  # never another host
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_the_other_slash_form_is_served_by_redirect(app):
    root = app.get("/api/v1", status=308)
    assert location(root) == "/api/v1/"
    assert app.get(location(root)).json["url"].endswith("/api/v1/")

    listed = app.get("/api/v1/collections/?_limit=1&q=%C3%A9", status=308)
    assert location(listed) == "/api/v1/collections?_limit=1&q=%C3%A9"
    assert app.get("/health/live/", status=308).headers["Location"].endswith("/health/live")

    # 308, not 301: the client repeats the method and the body.
    add_user(app.app.registry, "alice", "correct horse battery staple")
    body = {"username": "alice", "password": "correct horse battery staple"}
    moved = app.post_json("/api/v1/auth/login/", body, status=308)
    assert location(moved) == "/api/v1/auth/login"
    assert app.post_json(location(moved), body).json["token_type"] == "Bearer"

    # Neither form exists; a route's own 404 (an unknown collection) is left alone.
    for path in ("/api/v1/nothing/", "/api/v1/nothing", "/api/v1/collections/x/nothing/"):
        missing = app.get(path, status=404)
        assert missing.content_type == "application/problem+json"
        assert missing.json["instance"] == path
    token = app.post_json("/api/v1/auth/login", body).json["access_token"]
    app.get("/api/v1/collections/nope", headers={"Authorization": f"Bearer {token}"}, status=404)


def test_targets_are_predicate_free_routes_on_this_host_only():
    plain = Route("plain", "/api/v1/things")
    item = Route("item", "/{name}")
    picky = Route("picky", "/api/v1/picky", predicates=[lambda info, request: False])
    routes = [plain, item, picky]
    assert other_slash_form("/api/v1/things/", routes) == "/api/v1/things"
    assert other_slash_form("/evil.example/", routes) == "/evil.example"  # a path, same host
    assert other_slash_form("//evil.example/", routes) is None  # would read as another host
    assert other_slash_form("/api/v1/picky/", routes) is None  # could bounce back: no loop
    assert other_slash_form("/", routes) is None
    assert other_slash_form("/api/v1/other/", routes) is None
