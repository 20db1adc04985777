"""production.ini through the CLI: secrets only from the environment, refusals, JSON logs."""

from __future__ import annotations

import json
import secrets
import uuid

import pytest
from cli_support import (
    REPO,
    Server,
    benben_command,
    clean_environ,
    get,
    port_of,
    redis_keys_deleted,
    run_benben,
)

from benben.serving import available_cpus
from benben.testing import postgresql_schema, require_postgresql, require_redis

pytestmark = pytest.mark.slow

PRODUCTION_INI = str(REPO / "production.ini")
HINT = (
    "set BENBEN_SECRET to the output of: "
    "python -c 'import secrets; print(secrets.token_urlsafe(64))'"
)


def test_production_ini_takes_no_secret_or_url_from_the_file():
    from benben.cli.common import read_app_settings

    settings = read_app_settings(PRODUCTION_INI)
    assert settings["benben.environment"] == "production"
    assert settings["benben.cache.backend"] == "redis"
    assert settings["benben.database.auto_migrate"] == "false"
    assert settings["benben.logging.config"] == str(REPO / "conf/logging/production.ini")
    for key in ("benben.secret", "benben.database.url", "benben.cache.url"):
        assert key not in settings


def test_refuses_to_start_without_a_secret(tmp_path):
    result = run_benben("serve", "--ini", PRODUCTION_INI, "--port", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"benben: error: benben.secret is required in production: {HINT}\n"
    assert result.stdout == ""


def test_refuses_to_start_with_a_development_secret(tmp_path):
    env = clean_environ(
        BENBEN_SECRET="change-me-" + "x" * 80,
        BENBEN_DATABASE_URL="postgresql://benben@127.0.0.1/benben",
    )
    result = run_benben("serve", "--ini", PRODUCTION_INI, "--port", "0", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr == (
        "benben: error: refusing to start: benben.secret looks like a development or example "
        f"value: {HINT}\n"
    )


def test_refuses_to_start_without_a_database_url(tmp_path):
    env = clean_environ(BENBEN_SECRET=secrets.token_urlsafe(64))
    result = run_benben("serve", "--ini", PRODUCTION_INI, cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr == (
        "benben: error: benben.database.url is required in production (set BENBEN_DATABASE_URL)\n"
    )


@pytest.mark.postgresql
@pytest.mark.redis
def test_serves_with_environment_secrets_and_logs_json(tmp_path):
    base = require_postgresql()
    redis_url = require_redis()
    prefix = f"benben-test-cli-{uuid.uuid4().hex[:12]}:"
    with postgresql_schema(base) as database_url, redis_keys_deleted(redis_url, prefix):
        env = clean_environ(
            BENBEN_SECRET=secrets.token_urlsafe(64),
            BENBEN_DATABASE_URL=database_url,
            BENBEN_CACHE_URL=redis_url,
            BENBEN_CACHE_PREFIX=prefix,
        )
        # auto_migrate is false in production: the schema is an explicit step.
        migrated = run_benben("migrate", "--ini", PRODUCTION_INI, cwd=tmp_path, env=env)
        assert migrated.returncode == 0, migrated.stderr
        assert migrated.stdout.startswith("database: postgresql+psycopg://")

        command = benben_command(
            "serve", "--ini", PRODUCTION_INI, "--host", "127.0.0.1", "--port", "0"
        )
        server = Server(command, tmp_path, env)
        try:
            line = server.listen_line()
            # One process per CPU (benben.server.workers auto on PostgreSQL + Redis), each with
            # the threads of production.ini's [server:main].
            workers = available_cpus()
            assert (f"({workers} workers x 4 threads)" if workers > 1 else "(4 threads)") in line
            url = f"http://127.0.0.1:{port_of(line)}/health/ready"
            code, body = get(url, headers={"X-Request-ID": "prod-check-1"})
            assert code == 200, body
            assert json.loads(body)["checks"]["cache"]["status"] == "up"
        finally:
            assert server.stop() == 0

    logs = server.logs()
    # Every line on stderr is one JSON object (conf/logging/production.ini).
    entries = [json.loads(line) for line in logs.splitlines()]
    [access] = [e for e in entries if e["logger"] == "benben.access"]
    assert access["request_id"] == "prod-check-1"
    assert access["method"] == "GET"
    assert access["path"] == "/health/ready"
    assert access["status"] == 200
    assert isinstance(access["duration_ms"], float | int)
    assert access["level"] == "info"
    assert any(e["message"] == "server stopped" for e in entries)
