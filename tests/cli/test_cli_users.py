"""`benben users`: the first administrator from a terminal, a file or the environment; then the
accounts work over HTTP.  In-process on the embedded SQLite default, and on PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import sys

import pytest
import webtest
from cli_support import (
    FAST_HASHING,
    benben_command,
    clean_environ,
    run_benben,
)

from benben.testing import postgresql_schema, require_postgresql

PASSWORD = "correct horse battery staple"


@pytest.fixture
def users_env(workdir, monkeypatch):
    """Cheap hashing for the commands and the app built from the same environment."""
    for name, value in FAST_HASHING.items():
        monkeypatch.setenv(name, value)
    return workdir


@contextlib.contextmanager
def served_app():
    """The app on the same settings as the commands (./var, BENBEN_* from the environment)."""
    from benben.config import make_wsgi_app

    app = make_wsgi_app({})
    try:
        yield webtest.TestApp(app)
    finally:
        app.registry["benben.db.engine"].dispose()


def login(app, username, password=PASSWORD, status=200):
    return app.post_json(
        "/api/v1/auth/login", {"username": username, "password": password}, status=status
    )


def test_create_admin_from_an_environment_variable_then_log_in(cli, users_env, monkeypatch):
    monkeypatch.setenv("ADMIN_PW", PASSWORD)
    result = cli("users", "create", "--admin", "Admin", "--password-env", "ADMIN_PW",
                 "--email", "Admin@Example.org", "--display-name", "The Admin")  # fmt: skip
    assert result.code == 0, result.err
    assert result.out.startswith("created administrator admin (id ")
    assert PASSWORD not in result.out + result.err
    with served_app() as app:
        tokens = login(app, "admin").json
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        me = app.get("/api/v1/auth/me", headers=headers).json
        assert me["roles"] == ["admin"]
        assert me["user"]["email"] == "admin@example.org"
        assert me["user"]["display_name"] == "The Admin"


def test_create_from_a_password_file_uses_its_first_line(cli, users_env):
    (users_env / "pw").write_text(PASSWORD + "\nignored second line\n")
    result = cli("users", "create", "carol", "--password-file", "pw")
    assert result.code == 0, result.err
    assert result.out.startswith("created user carol")
    with served_app() as app:
        login(app, "carol")
        login(app, "carol", PASSWORD + "\nignored second line", status=401)


@pytest.fixture
def terminal(monkeypatch):
    """``terminal(answers)``: the typed answers to a terminal's password prompts; returns the
    list of prompts shown."""

    def typed(*answers):
        remaining = iter(answers)
        prompts = []

        def fake_getpass(prompt=""):
            prompts.append(prompt)
            return next(remaining)

        monkeypatch.setattr("getpass.getpass", fake_getpass)
        monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
        return prompts

    return typed


def test_create_asks_for_the_password_twice_on_a_terminal(cli, users_env, terminal):
    prompts = terminal(PASSWORD, PASSWORD)
    result = cli("users", "create", "--admin", "admin")
    assert result.code == 0, result.err
    assert prompts == ["Password: ", "Password (again): "]
    with served_app() as app:
        login(app, "admin")


def test_mismatched_passwords_three_times_create_nobody(cli, users_env, terminal):
    terminal(*[PASSWORD, PASSWORD + "x"] * 3)
    result = cli("users", "create", "admin")
    assert result.code == 2
    assert result.err.splitlines()[1:] == [
        "the passwords do not match; try again",
        "the passwords do not match; try again",
        "benben: error: the passwords do not match (3 attempts)",
    ]
    assert "no users yet" in cli("users", "list").out


def test_a_too_short_or_mistyped_password_is_asked_again(cli, users_env, terminal):
    prompts = terminal("tiny", PASSWORD, PASSWORD + "x", PASSWORD, PASSWORD)
    result = cli("users", "create", "--admin", "admin")
    assert result.code == 0, result.err
    assert prompts == ["Password: ", *["Password: ", "Password (again): "] * 2]
    assert result.err.splitlines()[1:] == [
        "the password must be at least 12 characters long; try again",
        "the passwords do not match; try again",
    ]
    assert "tiny" not in result.out + result.err
    with served_app() as app:
        login(app, "admin")


def test_without_a_terminal_the_password_must_come_from_a_file_or_the_environment(cli, users_env):
    result = cli("users", "create", "admin")
    assert result.code == 2
    assert "--password-file FILE or --password-env VAR" in result.err


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (("--password-env", "NOT_SET_ANYWHERE"), 2, "NOT_SET_ANYWHERE is not set or empty"),
        (("--password-file", "missing.txt"), 2, "cannot read password file missing.txt"),
        (("--password-file", "empty.txt"), 2, "password file empty.txt is empty"),
        (("--password-env", "SHORT_PW"), 2, "password: must be at least 12 characters long"),
    ],
)
def test_password_problems_are_one_line_errors(cli, users_env, monkeypatch, argv, code, message):
    (users_env / "empty.txt").write_text("\n")
    monkeypatch.setenv("SHORT_PW", "tiny")
    result = cli("users", "create", "admin", *argv)
    assert result.code == code
    *said, error = result.err.strip().splitlines()
    database = users_env / "var" / "benben.sqlite"
    assert said == [f"benben: creating a new database: SQLite {database}"]
    assert error.startswith("benben: error: ")
    assert message in error
    assert "tiny" not in result.err


def test_bad_username_email_and_duplicates(cli, users_env, monkeypatch):
    monkeypatch.setenv("PW", PASSWORD)
    bad = cli("users", "create", "-x", "--password-env", "PW")
    assert bad.code == 2, bad.err
    bad_name = cli("users", "create", "a b", "--password-env", "PW")
    assert bad_name.code == 2
    assert "username: must be 2-64 characters" in bad_name.err
    bad_mail = cli("users", "create", "dave", "--email", "nope", "--password-env", "PW")
    assert bad_mail.code == 2
    assert "email: must be an email address" in bad_mail.err
    assert cli("users", "create", "dave", "--password-env", "PW").code == 0
    taken = cli("users", "create", "DAVE", "--password-env", "PW")
    assert taken.code == 1
    assert 'username "dave" is already taken' in taken.err


def test_list_shows_users_without_secrets(cli, users_env, monkeypatch):
    monkeypatch.setenv("PW", PASSWORD)
    cli("users", "create", "--admin", "admin", "--password-env", "PW")
    cli("users", "create", "erin", "--email", "erin@example.org", "--password-env", "PW")
    table = cli("users", "list")
    assert table.code == 0
    lines = table.out.splitlines()
    assert lines[0].split() == ["USERNAME", "EMAIL", "ROLES", "ACTIVE", "CREATED"]
    assert lines[1].split()[:4] == ["admin", "-", "admin", "yes"]
    assert lines[2].split()[:4] == ["erin", "erin@example.org", "-", "yes"]
    listed = json.loads(cli("users", "list", "--json").out)
    assert [user["username"] for user in listed["users"]] == ["admin", "erin"]
    assert "argon2" not in table.out + json.dumps(listed)


def test_set_password_replaces_it_and_ends_sessions(cli, users_env, monkeypatch):
    monkeypatch.setenv("PW", PASSWORD)
    monkeypatch.setenv("NEW_PW", "a completely new secret")
    cli("users", "create", "frank", "--email", "frank@example.org", "--password-env", "PW")
    with served_app() as app:
        refresh_token = login(app, "frank").json["refresh_token"]
    result = cli("users", "set-password", "Frank@Example.org", "--password-env", "NEW_PW")
    assert result.code == 0, result.err
    assert "password of frank changed" in result.out
    with served_app() as app:
        login(app, "frank", status=401)
        login(app, "frank", "a completely new secret")
        app.post_json("/api/v1/auth/refresh", {"refresh_token": refresh_token}, status=401)
    same = cli("users", "set-password", "frank", "--password-env", "NEW_PW")
    assert same.code == 0
    as_name = cli("users", "set-password", "frank", "--password-env", "PW")
    assert as_name.code == 0
    monkeypatch.setenv("NAME_PW", "frank@example.org")
    refused = cli("users", "set-password", "frank", "--password-env", "NAME_PW")
    assert refused.code == 2
    assert "must not be the account's username or email" in refused.err


def test_deactivate_and_activate(cli, users_env, monkeypatch):
    monkeypatch.setenv("PW", PASSWORD)
    cli("users", "create", "--admin", "admin", "--password-env", "PW")
    cli("users", "create", "gina", "--password-env", "PW")
    last = cli("users", "deactivate", "admin")
    assert last.code == 1
    assert "last active administrator" in last.err
    assert cli("users", "deactivate", "gina").out == "gina is deactivated\n"
    assert cli("users", "deactivate", "gina").out == "gina is deactivated (unchanged)\n"
    with served_app() as app:
        login(app, "gina", status=401)
    assert cli("users", "activate", "gina").out == "gina is active\n"
    with served_app() as app:
        login(app, "gina")
    unknown = cli("users", "deactivate", "nobody")
    assert unknown.code == 1
    assert "no user 'nobody'" in unknown.err


def test_users_without_an_action_and_help(cli, users_env):
    missing = cli("users")
    assert missing.code == 2
    assert "a users command is required: create, list, set-password" in missing.err
    help_text = cli("users", "create", "--help").out
    for option in ("--admin", "--email", "--display-name", "--password-file", "--password-env"):
        assert option in help_text
    both = cli("users", "create", "x", "--password-file", "f", "--password-env", "V")
    assert both.code == 2
    assert "not allowed with argument" in both.err


def test_on_postgresql_after_migrate(cli, users_env, monkeypatch):
    base = require_postgresql()
    with postgresql_schema(base) as url:
        monkeypatch.setenv("BENBEN_DATABASE_URL", url)
        monkeypatch.setenv("PW", PASSWORD)
        unmigrated = cli("users", "create", "--admin", "admin", "--password-env", "PW")
        assert unmigrated.code == 1
        assert "run 'benben migrate' first" in unmigrated.err
        assert cli("migrate").code == 0
        created = cli("users", "create", "--admin", "admin", "--password-env", "PW")
        assert created.code == 0, created.err
        with served_app() as app:
            login(app, "admin")


@pytest.mark.slow
def test_real_terminal_prompts_twice_without_echo(tmp_path):
    """The installed command in a pseudo-terminal, as a newcomer types it."""
    environ = clean_environ(**FAST_HASHING)
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes `benben users create --admin admin`
        os.chdir(tmp_path)
        command = benben_command("users", "create", "--admin", "admin")
        os.execve(command[0], command, environ)  # noqa: S606 - our own command, no shell
    output = b""
    try:
        for prompt in (b"Password: ", b"Password (again): "):
            output += _read_until(fd, prompt)
            os.write(fd, PASSWORD.encode() + b"\n")
        output += _read_until(fd, b"auth/login")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "Password (again): " in text
    assert "created administrator admin" in text
    assert PASSWORD not in text  # not echoed
    # Which database, said before the password is asked for: a new one here, in ./var.
    assert f"benben: creating a new database: SQLite {tmp_path / 'var' / 'benben.sqlite'}" in text
    listed = run_benben("users", "list", cwd=tmp_path, env=environ)
    assert listed.stdout.splitlines()[1].split()[:3] == ["admin", "-", "admin"]


def _read_until(fd, marker, timeout=30.0):
    """Read the terminal until ``marker`` appears (the timeout only guards against a hang)."""
    seen = b""
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            raise AssertionError(f"no {marker!r} from the command; got {seen!r}")
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    return seen
