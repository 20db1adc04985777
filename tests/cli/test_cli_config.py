"""`benben config`: effective values, their sources, masked secrets, unknown keys."""

from __future__ import annotations

import json
import secrets

import pytest
from cli_support import clean_environ, run_benben

from benben.core_settings import CORE_SETTINGS

INI_SECRET = secrets.token_urlsafe(64)
ENV_DATABASE_URL = "postgresql://benben:db-password-123@db.internal/benben"


def write_ini(workdir, **settings):
    lines = ["[app:main]", "use = egg:benben", *(f"{k} = {v}" for k, v in settings.items())]
    (workdir / "app.ini").write_text("\n".join(lines) + "\n")
    return "app.ini"


def by_name(report):
    return {entry["name"]: entry for entry in report["settings"]}


def test_sources_default_ini_env_and_masked_secrets(cli, workdir, monkeypatch):
    ini = write_ini(
        workdir,
        **{
            "benben.cache.expiration": "60",
            "benben.secret": INI_SECRET,
            "benben.cache.prefix": "from-ini:",
            "pyramid.reload_templates": "true",
        },
    )
    monkeypatch.setenv("BENBEN_CACHE_PREFIX", "from-env:")
    monkeypatch.setenv("BENBEN_DATABASE_URL", ENV_DATABASE_URL)

    result = cli("config", "--ini", ini, "--json")

    assert result.code == 0, result.err
    report = json.loads(result.out)
    settings = by_name(report)
    assert report["ini"] == str(workdir / "app.ini")
    assert settings["benben.cache.expiration"]["value"] == "60"
    assert settings["benben.cache.expiration"]["source"] == "ini"
    assert settings["benben.cache.prefix"]["value"] == "from-env:"
    assert settings["benben.cache.prefix"]["source"] == "env"
    assert settings["benben.cache.backend"] == {
        **settings["benben.cache.backend"],
        "value": "memory",
        "source": "default",
        "env": "BENBEN_CACHE_BACKEND",
    }
    assert settings["benben.secret"]["value"] == "********"
    assert settings["benben.secret"]["source"] == "ini"
    assert settings["benben.database.url"]["value"] == "********"
    assert settings["benben.database.url"]["source"] == "env"
    assert report["other"] == {"pyramid.reload_templates": "true"}
    assert INI_SECRET not in result.out
    assert "db-password-123" not in result.out

    table = cli("config", "--ini", ini)
    assert table.code == 0
    assert INI_SECRET not in table.out
    assert "db-password-123" not in table.out
    rows = {line.split()[0]: line.split()[1:] for line in table.out.splitlines()[4:] if line}
    assert rows["benben.cache.expiration"] == ["60", "ini"]
    assert rows["benben.cache.prefix"] == ["from-env:", "env", "(BENBEN_CACHE_PREFIX)"]
    assert rows["benben.cache.backend"] == ["memory", "default"]
    assert rows["benben.secret"] == ["********", "ini"]


def test_generated_secret_is_masked_and_its_file_named(cli, workdir):
    result = cli("config", "--json")
    assert result.code == 0, result.err
    secret = by_name(json.loads(result.out))["benben.secret"]
    secret_file = workdir / "var" / "secret.key"
    assert secret == {**secret, "value": "********", "source": f"generated ({secret_file})"}
    assert secret_file.read_text().strip() not in result.out


def test_unknown_keys_and_environment_variables_are_reported(cli, workdir, monkeypatch):
    ini = write_ini(workdir, **{"benben.cache.backnd": "redis", "benben.databse.url": "x"})
    monkeypatch.setenv("BENBEN_CACHE_EXPIRATON", "5")

    report = json.loads(cli("config", "--ini", ini, "--json").out)
    assert report["unknown"] == ["benben.cache.backnd", "benben.databse.url"]
    assert "BENBEN_CACHE_EXPIRATON" in report["unknown_env"]
    assert "benben.cache.backnd" not in by_name(report)

    table = cli("config", "--ini", ini)
    assert table.code == 0
    text = table.out
    assert "Unknown settings in the ini, IGNORED" in text
    unknown_block = text.split("Unknown settings in the ini, IGNORED")[1]
    assert "  benben.cache.backnd\n" in unknown_block
    assert "  benben.databse.url\n" in unknown_block
    assert "  BENBEN_CACHE_EXPIRATON\n" in text.split("match no setting, IGNORED")[1]


def test_no_unknown_section_when_everything_is_known(cli, workdir, monkeypatch):
    # The test suite's own variables (README: where the test servers are) are no settings.
    monkeypatch.setenv("BENBEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("BENBEN_TEST_ANYTHING_ELSE", "x")
    result = cli("config", "--ini", write_ini(workdir, **{"benben.cache.backend": "null"}))
    assert result.code == 0
    assert "IGNORED" not in result.out


def test_the_data_directory_is_resolved_once_and_shown(cli, workdir, monkeypatch):
    monkeypatch.setenv("BENBEN_DATA_DIR", "data")  # relative: to the working directory
    report = json.loads(cli("config", "--json").out)
    assert report["data_dir"] == str(workdir / "data")
    assert by_name(report)["benben.data_dir"]["value"] == str(workdir / "data")
    assert report["database"] == f"SQLite {workdir / 'data' / 'benben.sqlite'}"
    table = cli("config").out.splitlines()
    assert table[:2] == [
        f"Data directory: {workdir / 'data'}",
        f"Database: SQLite {workdir / 'data' / 'benben.sqlite'}",
    ]

    monkeypatch.setenv("BENBEN_DATABASE_URL", ENV_DATABASE_URL)
    report = json.loads(cli("config", "--json").out)
    assert report["database"] == "postgresql+psycopg://benben:***@db.internal/benben"


def test_help_lists_every_setting_with_the_values_it_accepts(cli):
    result = cli("config", "--help")
    assert result.code == 0
    text = result.out
    assert "benben.database.pool_size, BENBEN_DATABASE_POOL_SIZE\n" in text
    assert "      integer from 1 to 1000; default 10\n" in text
    assert "      one of memory, redis, null; default memory\n" in text
    assert "      boolean (true/false, yes/no, on/off, 1/0); default false\n" in text
    assert "benben.server.connection_limit, BENBEN_SERVER_CONNECTION_LIMIT\n" in text
    assert "benben.backstage." in text  # the installed plugins' settings too
    assert text.count(", BENBEN_") >= len(CORE_SETTINGS)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"benben.cache.backend": "x"},
            "invalid value 'x' for setting benben.cache.backend (from ini): "
            "accepted values: memory, redis, null",
        ),
        (
            {"benben.database.pool_size": "0"},
            "invalid value '0' for setting benben.database.pool_size (from ini): must be >= 1",
        ),
        (
            {"benben.environment": "production", "benben.database.url": "sqlite://"},
            "benben.secret is required in production",
        ),
    ],
)
def test_bad_value_is_exit_2_with_one_line(cli, workdir, settings, message):
    result = cli("config", "--ini", write_ini(workdir, **settings))
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith(f"benben: error: {message}")
    assert len(result.err.splitlines()) == 1


@pytest.mark.slow
def test_bad_value_in_a_real_process_has_no_traceback(tmp_path):
    (tmp_path / "bad.ini").write_text("[app:main]\nuse = egg:benben\nbenben.cache.backend = x\n")
    for command in ("config", "serve"):
        result = run_benben(command, "--ini", "bad.ini", cwd=tmp_path, env=clean_environ())
        assert result.returncode == 2, command
        assert result.stderr == (
            "benben: error: invalid value 'x' for setting benben.cache.backend (from ini): "
            "accepted values: memory, redis, null\n"
        )
        assert "Traceback" not in result.stdout + result.stderr
