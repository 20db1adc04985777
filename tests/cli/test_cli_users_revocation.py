"""`benben users` in its own process next to a running app on the embedded default: the app's
very next request sees the change (benben.security.epoch), although its caches are in memory."""

from __future__ import annotations

import pytest
import webtest
from cli_support import clean_environ, run_benben

PASSWORD = "correct horse battery staple"
FAST_HASHING = {
    "BENBEN_AUTH_ARGON2_TIME_COST": "1",
    "BENBEN_AUTH_ARGON2_MEMORY_COST": "64",
    "BENBEN_AUTH_ARGON2_PARALLELISM": "1",
}


@pytest.fixture
def served(cli, workdir, monkeypatch):
    """An app on ./var (SQLite, memory cache) with alice logged in and cached."""
    from benben.config import make_wsgi_app

    for name, value in FAST_HASHING.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PW", PASSWORD)
    assert cli("users", "create", "--admin", "admin", "--password-env", "PW").code == 0
    assert cli("users", "create", "alice", "--password-env", "PW").code == 0
    wsgi = make_wsgi_app({})
    app = webtest.TestApp(wsgi)
    body = {"username": "alice", "password": PASSWORD}
    token = app.post_json("/api/v1/auth/login", body).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(2):  # the second answer from the app's in-process caches
        assert app.get("/api/v1/auth/me", headers=headers).json["user"]["username"] == "alice"
    try:
        yield app, headers
    finally:
        wsgi.registry["benben.db.engine"].dispose()


def benben_users(workdir, *args):
    """The real command, in another process, on the same ./var."""
    result = run_benben("users", *args, cwd=workdir, env=clean_environ(**FAST_HASHING, PW="x"))
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_deactivate_in_another_process_refuses_the_next_request(served, workdir):
    app, headers = served
    assert benben_users(workdir, "deactivate", "alice") == "alice is deactivated\n"
    refused = app.get("/api/v1/auth/me", headers=headers, status=401)
    assert refused.content_type == "application/problem+json"


def test_set_password_in_another_process_ends_sessions_at_once(served, workdir, tmp_path):
    app, headers = served
    (tmp_path / "pw").write_text("a new correct horse battery\n")
    out = benben_users(workdir, "set-password", "alice", "--password-file", str(tmp_path / "pw"))
    assert "their sessions have ended" in out
    app.get("/api/v1/auth/me", headers=headers, status=401)
    # ...and only hers: the new password logs in and works at once.
    body = {"username": "alice", "password": "a new correct horse battery"}
    token = app.post_json("/api/v1/auth/login", body).json["access_token"]
    app.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, status=200)
