"""`benben users` in its own process next to a running app on the embedded default: the app's
very next request sees the change (benben.security.epoch), although its caches are in memory."""

from __future__ import annotations

import json
import urllib.request

import pytest
import webtest
from cli_support import (
    FAST_HASHING,
    Server,
    benben_command,
    clean_environ,
    get,
    port_of,
    run_benben,
)

PASSWORD = "correct horse battery staple"


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


@pytest.mark.slow
def test_a_real_server_refuses_at_once_what_a_real_command_deactivated(tmp_path):
    """Both real processes: `benben serve` (waitress, 4 threads) and `benben users`."""
    env = clean_environ(**FAST_HASHING, PW=PASSWORD)
    for args in (("--admin", "admin"), ("alice",)):
        created = run_benben(
            "users", "create", *args, "--password-env", "PW", cwd=tmp_path, env=env
        )
        assert created.returncode == 0, created.stderr
    server = Server(benben_command("serve", "--port", "0"), tmp_path, env)
    try:
        base = f"http://127.0.0.1:{port_of(server.listen_line())}"
        server.wait_ready(f"{base}/health/live")
        body = json.dumps({"username": "alice", "password": PASSWORD}).encode()
        login = urllib.request.Request(  # noqa: S310 - http to the test server
            f"{base}/api/v1/auth/login", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(login, timeout=10) as answer:  # noqa: S310
            token = json.load(answer)["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(3):  # cached by the server from the second on
            assert get(f"{base}/api/v1/auth/me", headers)[0] == 200
        deactivated = run_benben("users", "deactivate", "alice", cwd=tmp_path, env=env)
        assert deactivated.returncode == 0, deactivated.stderr
        status, answer_body = get(f"{base}/api/v1/auth/me", headers)
        assert status == 401, answer_body
    finally:
        assert server.stop() == 0
