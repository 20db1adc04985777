"""benben.serving: the connection settings are defined once; the shipped ini files (read by
`benben serve --ini` and `pserve` alike) and the configuration reference say the same."""

from __future__ import annotations

import configparser
import os
from pathlib import Path

import pytest
from pyramid.exceptions import ConfigurationError

from benben.core_settings import CORE_SETTINGS
from benben.docs import render_configuration_reference
from benben.serving import (
    CONNECTION_SETTINGS,
    PROCESS_SETTINGS,
    SERVER_PREFIX,
    SERVER_SETTINGS,
    WORKERS_AUTO,
    ProcessSettings,
    available_cpus,
    cgroup_cpu_limit,
    resolve_process_settings,
    resolve_server_settings,
    worker_count,
)
from benben.settings import Setting

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {s.name[len(SERVER_PREFIX) :]: s.default for s in CONNECTION_SETTINGS}


def server_section(name: str) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / name)
    return dict(parser["server:main"])


@pytest.mark.parametrize("ini", ["production.ini", "development.ini"])
def test_shipped_ini_files_state_the_defaults(ini: str) -> None:
    section = server_section(ini)
    assert {key: int(section[key]) for key in DEFAULTS} == DEFAULTS
    assert section["asyncore_use_poll"] == "true"  # what pserve needs to be told
    assert resolve_server_settings(section, {}) == {**DEFAULTS, "asyncore_use_poll": True}


def test_defaults_hold_more_than_waitress_and_close_silent_sockets_in_time() -> None:
    assert DEFAULTS["connection_limit"] >= 1000  # waitress's 100 is what slow clients exhaust
    # A silent socket is closed well within two minutes of its last byte.
    assert DEFAULTS["channel_timeout"] + DEFAULTS["cleanup_interval"] <= 120
    # ...but after the 60 s idle timeout of the proxies in front, which must close first.
    assert DEFAULTS["channel_timeout"] > 60


@pytest.mark.parametrize("setting", SERVER_SETTINGS, ids=[s.name for s in SERVER_SETTINGS])
def test_every_server_setting_is_documented_and_bounded(setting: Setting) -> None:
    reference = render_configuration_reference()
    section = reference.split(f"### `{setting.name}`\n", 1)[1].split("\n### ", 1)[0]
    assert f"Environment variable: `{setting.env}`" in section
    assert f"`{setting.name[len(SERVER_PREFIX) :]}` in `[server:main]`" in setting.help
    assert setting.help.strip() in section
    with pytest.raises(ValueError, match="must be"):
        setting.parser("-1")
    # A count of connections or seconds is bounded at 100000; a body size at 16 TiB.
    bytes_setting = setting.name == "benben.server.max_request_body_size"
    with pytest.raises(ValueError, match="must be"):
        setting.parser(str((1 << 44) + 1) if bytes_setting else "100001")
    assert setting.parser(str(setting.default)) == setting.default


def test_server_settings_are_not_application_settings() -> None:
    """They belong to [server:main]: in [app:main] they would be reported as unknown keys."""
    assert not any(s.name.startswith(SERVER_PREFIX) for s in CORE_SETTINGS)


def test_the_process_settings_stay_out_of_waitress_options() -> None:
    """pserve hands [server:main] to waitress, which refuses keys it does not know."""
    options = resolve_server_settings({"workers": "2", "timeout": "5"}, {})
    assert not {"workers", "timeout", "graceful_timeout"} & set(options)


def test_process_settings_default_ini_environment_then_command_line() -> None:
    assert resolve_process_settings({}, {}) == ProcessSettings(WORKERS_AUTO, 30, 30)
    ini = {"workers": "3", "timeout": "0", "graceful_timeout": "5"}
    assert resolve_process_settings(ini, {}) == ProcessSettings(3, 0, 5)
    environ = {"BENBEN_SERVER_WORKERS": "auto", "BENBEN_SERVER_GRACEFUL_TIMEOUT": "9"}
    assert resolve_process_settings(ini, environ) == ProcessSettings(WORKERS_AUTO, 0, 9)
    assert resolve_process_settings(ini, environ, workers=1).workers == 1
    with pytest.raises(ConfigurationError, match="BENBEN_SERVER_WORKERS"):
        resolve_process_settings({}, {"BENBEN_SERVER_WORKERS": "many"})


def app_values(database: str, cache: str) -> dict[str, str]:
    return {"benben.database.url": database, "benben.cache.backend": cache}


POSTGRESQL = "postgresql://db.example/benben"


@pytest.mark.parametrize(
    ("database", "cache", "expected"),
    [
        ("", "memory", 1),  # the embedded default: one process, its cache its own
        ("", "redis", 1),  # SQLite: one writer at a time, more processes gain nothing
        (POSTGRESQL, "memory", 1),
        (POSTGRESQL, "null", 1),
        (POSTGRESQL, "redis", available_cpus()),
        ("postgresql+psycopg://db.example/benben", "redis", available_cpus()),
    ],
)
def test_auto_is_one_per_cpu_only_where_every_process_shares_the_state(
    database: str, cache: str, expected: int
) -> None:
    auto = ProcessSettings(WORKERS_AUTO, 30, 30)
    assert worker_count(auto, app_values(database, cache)) == expected


def test_an_explicit_count_is_kept_unless_the_cache_is_per_process() -> None:
    assert worker_count(ProcessSettings(3, 30, 30), app_values(POSTGRESQL, "redis")) == 3
    assert worker_count(ProcessSettings(2, 30, 30), app_values(POSTGRESQL, "null")) == 2
    assert worker_count(ProcessSettings(1, 30, 30), app_values("", "memory")) == 1
    with pytest.raises(ConfigurationError, match=r"workers = 2 needs a cache the processes share"):
        worker_count(ProcessSettings(2, 30, 30), app_values(POSTGRESQL, "memory"))


def test_every_process_setting_is_a_server_setting() -> None:
    assert set(PROCESS_SETTINGS) <= set(SERVER_SETTINGS)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu.max": "150000 100000\n"}, 1.5),
        ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2.0),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
    ids=["v2-unlimited", "v2-limited", "v1-limited", "v1-unlimited", "none"],
)
def test_a_containers_cpu_limit_is_read_from_its_control_group(
    tmp_path: Path, files: dict[str, str], expected: float | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_cpu_limit(tmp_path) == expected


def test_auto_counts_no_more_cpus_than_the_limit_allows(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # half a CPU: one process, not none
    assert available_cpus(tmp_path) == 1
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert available_cpus(tmp_path) == len(os.sched_getaffinity(0))
