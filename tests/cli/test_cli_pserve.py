"""The shipped ini files also work with Pyramid's own `pserve`."""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import uuid
from pathlib import Path

import pytest
from cli_support import (
    REPO,
    Server,
    clean_environ,
    free_port,
    redis_keys_deleted,
    run_benben,
)

from benben.testing import postgresql_schema, require_postgresql, require_redis

pytestmark = pytest.mark.slow

PSERVE = Path(sys.executable).parent / "pserve"


def test_pserve_development_ini(tmp_path):
    # A copy next to its logging config, on a free port: the real file only differs in the port.
    port = free_port()
    ini = tmp_path / "development.ini"
    text = (REPO / "development.ini").read_text()
    assert "listen = 127.0.0.1:6543\n" in text
    ini.write_text(text.replace("listen = 127.0.0.1:6543", f"listen = 127.0.0.1:{port}"))
    (tmp_path / "conf" / "logging").mkdir(parents=True)
    shutil.copy(REPO / "conf/logging/development.ini", tmp_path / "conf/logging")

    server = Server([str(PSERVE), str(ini)], tmp_path, clean_environ())
    try:
        status, body = server.wait_ready(f"http://127.0.0.1:{port}/health/ready")
        assert status == 200, body
    finally:
        server.stop()
    assert (tmp_path / "var" / "benben.sqlite").is_file()  # %(here)s/var
    logs = server.logs()
    assert "Traceback" not in logs
    # Logs as conf/logging/development.ini specifies, although pserve set up logging first.
    access = [line for line in logs.splitlines() if "[benben.access]" in line]
    assert len(access) == 1
    assert " INFO    [benben.access] [" in access[0]
    assert access[0].endswith("GET /health/ready 200")


@pytest.mark.postgresql
@pytest.mark.redis
def test_pserve_production_ini(tmp_path):
    base, redis_url = require_postgresql(), require_redis()
    port = free_port()
    ini = tmp_path / "production.ini"
    text = (REPO / "production.ini").read_text()
    assert "listen = 0.0.0.0:6543\n" in text
    ini.write_text(text.replace("listen = 0.0.0.0:6543", f"listen = 127.0.0.1:{port}"))
    (tmp_path / "conf" / "logging").mkdir(parents=True)
    shutil.copy(REPO / "conf/logging/production.ini", tmp_path / "conf/logging")

    prefix = f"benben-test-cli-{uuid.uuid4().hex[:12]}:"
    with postgresql_schema(base) as database_url, redis_keys_deleted(redis_url, prefix):
        env = clean_environ(
            BENBEN_SECRET=secrets.token_urlsafe(64),
            BENBEN_DATABASE_URL=database_url,
            BENBEN_CACHE_URL=redis_url,
            BENBEN_CACHE_PREFIX=prefix,
        )
        assert run_benben("migrate", "--ini", str(ini), cwd=tmp_path, env=env).returncode == 0
        server = Server([str(PSERVE), str(ini)], tmp_path, env)
        try:
            status, body = server.wait_ready(f"http://127.0.0.1:{port}/health/ready")
            assert status == 200, body
        finally:
            server.stop()

    # pserve itself may print warnings first; Benben's log lines are JSON objects.
    entries = [json.loads(line) for line in server.logs().splitlines() if line.startswith("{")]
    assert any(
        e["logger"] == "benben.access" and e["path"] == "/health/ready" and e["status"] == 200
        for e in entries
    )
