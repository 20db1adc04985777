"""`benben serve` as a real process: embedded defaults, development.ini, refused bad options."""

from __future__ import annotations

import signal
import socket
import time

import pytest
from cli_support import (
    REPO,
    Server,
    benben_command,
    clean_environ,
    get,
    port_of,
    run_benben,
)

pytestmark = pytest.mark.slow


def test_serve_embedded_defaults_in_the_current_directory(tmp_path, isolated_state_home):
    server = Server(benben_command("serve", "--port", "0"), tmp_path, clean_environ())
    try:
        line = server.listen_line()
        assert line.startswith("benben: serving on http://127.0.0.1:")
        assert "(4 threads)" in line
        base = f"http://127.0.0.1:{port_of(line)}"
        banner = [server.process.stdout.readline().rstrip("\n") for _ in range(10)]
        # No user yet: the console's one-time setup URL (a token derived from the secret).
        setup = banner.pop(2)
        assert setup.startswith(f"  setup     {base}/admin/setup#")
        assert len(setup.rsplit("#", 1)[1]) == 32
        assert banner == [
            f"  home      {base}/",
            f"  console   {base}/admin/",
            f"  API       {base}/api/v1/",
            f"  API docs  {base}/api/v1/docs",
            f"  OpenAPI   {base}/api/v1/openapi.json",
            f"  health    {base}/health/ready",
            f"  data      {tmp_path / 'var'}",
            f"  database  SQLite {tmp_path / 'var' / 'benben.sqlite'}",
            "  cache     memory (in this process)",
        ]
        status, body = server.wait_ready(f"{base}/health/ready")
        assert status == 200, body
        assert get(f"{base}/")[0] == 200
        assert (tmp_path / "var" / "benben.sqlite").is_file()
        assert (tmp_path / "var" / "secret.key").is_file()
        # Recorded for the other commands, wherever they run (benben.cli.datadir).
        recorded = (isolated_state_home / "benben" / "data-dir").read_text()
        assert recorded == f"{tmp_path / 'var'}\n"
    finally:
        asked = time.monotonic()
        code = server.stop(signal.SIGINT)  # Ctrl-C
        took = time.monotonic() - asked
    assert code == 0
    # The interpreter's teardown of the app took most of a stop, seconds on a loaded machine
    # (past the 15 s the tests waited): the process now ends without it (serve.exit_fast).
    assert took < 5, took
    logs = server.logs()
    assert "Traceback" not in logs
    assert "GET /health/ready 200" in logs
    assert "server stopped" in logs
    # The migrations that ran are logged; Alembic's chatter about its context is not.
    assert "Running upgrade  -> 0001_accounts" in logs
    assert "Context impl" not in logs
    assert "Will assume" not in logs


def test_serve_development_ini(tmp_path):
    env = clean_environ(BENBEN_DATA_DIR=str(tmp_path / "data"))
    command = benben_command(
        "serve", "--ini", str(REPO / "development.ini"), "--port", "0", "--threads", "2"
    )
    server = Server(command, tmp_path, env)
    try:
        line = server.listen_line()
        assert line.startswith("benben: serving on http://127.0.0.1:")  # from [server:main]
        assert "(2 threads)" in line
        url = f"http://127.0.0.1:{port_of(line)}/health/ready"
        status, _ = get(url, headers={"X-Request-ID": "dev-ini-request"})
        assert status == 200
    finally:
        assert server.stop() == 0
    assert (tmp_path / "data" / "benben.sqlite").is_file()
    # conf/logging/development.ini: readable lines with the request id.
    access = [line for line in server.logs().splitlines() if "[benben.access]" in line]
    assert len(access) == 1
    assert " INFO    [benben.access] [dev-ini-request] GET /health/ready 200" in access[0]


def test_port_in_use_is_a_one_line_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_benben("serve", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 1
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("benben:")]
    assert error_lines == [
        f"benben: error: cannot listen on 127.0.0.1:{port}: [Errno 98] Address already in use"
    ]
    assert "Traceback" not in result.stderr
    # Refused before the app was loaded: no database made, no worker or scheduler started.
    assert not (tmp_path / "var").exists()


def test_bad_server_section_is_a_usage_error(tmp_path):
    (tmp_path / "app.ini").write_text(
        "[app:main]\nuse = egg:benben\n\n[server:main]\nuse = egg:gunicorn#main\n"
    )
    result = run_benben("serve", "--ini", "app.ini", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "benben: error: [server:main] uses egg:gunicorn#main, but benben serve runs waitress: "
        "start this file with pserve, or use egg:waitress#main\n"
    )


def test_bad_waitress_option_is_a_usage_error(tmp_path):
    (tmp_path / "app.ini").write_text(
        "[app:main]\nuse = egg:benben\n\n[server:main]\nuse = egg:waitress#main\n"
        "listen = 127.0.0.1:0\nconnection_limit = many\n"
    )
    result = run_benben("serve", "--ini", "app.ini", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith("benben: error: invalid server option: ")
    assert "Traceback" not in result.stderr
