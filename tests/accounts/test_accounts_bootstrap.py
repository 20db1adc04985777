"""The first administrator at start-up: from benben.admin_password, or a hint how to make one."""

from __future__ import annotations

import logging

import pytest
from accounts_support import PASSWORD, add_user, bearer, login
from pyramid.exceptions import ConfigurationError

HINT = "No users yet: run `benben users create --admin admin`"


def test_admin_password_creates_the_first_admin_who_logs_in(make_app):
    app = make_app({"benben.admin_password": PASSWORD})
    tokens = login(app, "admin").json
    me = app.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).json
    assert me["user"]["username"] == "admin"
    assert me["roles"] == ["admin"]
    app.get("/api/v1/users", headers=bearer(tokens["access_token"]), status=200)


def test_admin_username_is_configurable(make_app):
    app = make_app({"benben.admin_password": PASSWORD, "benben.admin_username": "Boss"})
    login(app, "boss", status=200)
    login(app, "admin", status=401)


def test_without_a_password_and_without_users_a_warning_names_the_command(make_app, caplog):
    with caplog.at_level(logging.WARNING, logger="benben.accounts.bootstrap"):
        app = make_app()
    assert any(HINT in record.getMessage() for record in caplog.records)
    login(app, "admin", status=401)


def test_no_hint_once_a_user_exists(make_app, caplog):
    app = make_app()
    add_user(app, "someone")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="benben.accounts.bootstrap"):
        make_app()
    assert not [record for record in caplog.records if HINT in record.getMessage()]


def test_admin_password_is_ignored_once_users_exist_and_never_resets_one(make_app):
    app = make_app({"benben.admin_password": PASSWORD})
    other = "another password entirely"
    second = make_app({"benben.admin_password": other})
    login(second, "admin", other, status=401)
    login(second, "admin", PASSWORD, status=200)
    assert app is not second


def test_several_instances_starting_at_once_create_one_admin(make_app, monkeypatch):
    """The instance that lost the race finds the name taken and starts anyway."""
    from benben.accounts import bootstrap

    first = make_app({"benben.admin_password": PASSWORD})
    # The second instance looked before the first committed: it saw no user.
    monkeypatch.setattr(bootstrap, "any_user_id", lambda dbsession: None)
    second = make_app({"benben.admin_password": PASSWORD})
    assert bootstrap.bootstrap_first_admin(second.app.registry) == "raced"
    tokens = login(first, "admin").json
    users = first.get("/api/v1/users", headers=bearer(tokens["access_token"])).json["data"]
    assert [user["username"] for user in users] == ["admin"]


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"benben.admin_password": "short"}, "password: must be at least 12 characters"),
        ({"benben.admin_password": PASSWORD, "benben.admin_username": "-x"}, "username:"),
    ],
)
def test_an_unusable_first_admin_setting_stops_the_start(make_app, overrides, named):
    with pytest.raises(ConfigurationError) as raised:
        make_app(overrides)
    message = str(raised.value)
    assert "benben.admin_password" in message
    assert named in message
    assert overrides["benben.admin_password"] not in message  # never shows the password


def test_an_unmigrated_database_is_reported_not_fatal(make_app, caplog):
    with caplog.at_level(logging.WARNING, logger="benben.accounts.bootstrap"):
        app = make_app({"benben.database.auto_migrate": "false", "benben.admin_password": PASSWORD})
    assert any("benben migrate" in record.getMessage() for record in caplog.records)
    app.get("/health/live", status=200)


def test_make_wsgi_app_creates_the_first_admin(tmp_path):
    """The production path (benben serve, PasteDeploy) as well as the test fixture's."""
    import webtest
    from accounts_support import FAST_HASHING

    from benben.config import make_wsgi_app

    settings = {"benben.data_dir": str(tmp_path / "var"), **FAST_HASHING}
    app = make_wsgi_app(settings, environ={"BENBEN_ADMIN_PASSWORD": PASSWORD})
    try:
        login(webtest.TestApp(app), "admin", status=200)
    finally:
        app.registry["benben.db.engine"].dispose()


def test_an_unreachable_database_does_not_stop_the_start(make_app, caplog):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    unreachable = {
        "benben.database.url": f"postgresql://postgres@127.0.0.1:{port}/test",
        "benben.database.auto_migrate": "false",
        "benben.admin_password": PASSWORD,
    }
    with caplog.at_level(logging.WARNING, logger="benben.accounts.bootstrap"):
        app = make_app(unreachable)
    assert any("database is unavailable" in record.getMessage() for record in caplog.records)
    app.get("/health/live", status=200)
