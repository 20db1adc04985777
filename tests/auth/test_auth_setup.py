"""``/api/v1/auth/setup``: the first administrator from the URL ``benben serve`` prints."""

from __future__ import annotations

from benben.accounts.bootstrap import FIRST_ADMIN_KEY
from benben.auth.setup import setup_token, setup_url
from benben.cli.serve_banner import start_banner
from benben.testing_auth import add_user, login

PATH = "/api/v1/auth/setup"
PASSWORD = "correct horse battery staple"


def test_the_first_administrator_from_the_setup_token(app):
    registry = app.app.registry
    assert app.get(PATH).json == {"needed": True}
    token = setup_token(registry)
    body = {"token": token, "username": "ada", "password": PASSWORD}
    created = app.post_json(PATH, body, status=201).json
    assert created["username"] == "ada"
    assert created["is_admin"] is True
    assert app.get(PATH).json == {"needed": False}
    assert login(app, "ada", PASSWORD)["access_token"]
    # Once a user exists the token is worth nothing.
    again = app.post_json(PATH, {**body, "username": "eve"}, status=409)
    assert again.content_type == "application/problem+json"


def test_a_wrong_token_or_a_bad_password_is_refused(app):
    wrong = {"token": "x" * 32, "username": "ada", "password": PASSWORD}
    assert app.post_json(PATH, wrong, status=403).json["status"] == 403
    weak = {"token": setup_token(app.app.registry), "username": "ada", "password": "short"}
    refused = app.post_json(PATH, weak, status=400).json
    assert [error["pointer"] for error in refused["errors"]] == ["/password"]
    missing = app.post_json(PATH, {"username": "ada", "password": PASSWORD}, status=400).json
    assert "/token" in {error["pointer"] for error in missing["errors"]}
    assert app.get(PATH).json == {"needed": True}


def test_the_token_is_the_instances_own(make_app):
    one = make_app({"benben.secret": "a" * 64}).app.registry
    other = make_app({"benben.secret": "b" * 64}).app.registry
    assert setup_token(one) != setup_token(other)
    assert setup_url(one, "http://h:1/") == f"http://h:1/admin/setup#{setup_token(one)}"


def test_serve_prints_the_setup_url_only_while_there_is_no_user(app):
    registry = app.app.registry
    registry[FIRST_ADMIN_KEY] = "hint"
    lines = start_banner(registry, "http://127.0.0.1:1")
    assert f"  setup     {setup_url(registry, 'http://127.0.0.1:1')}" in lines
    add_user(registry, "ada")
    registry[FIRST_ADMIN_KEY] = "exists"
    assert not [
        line for line in start_banner(registry, "http://127.0.0.1:1") if "/admin/setup" in line
    ]
