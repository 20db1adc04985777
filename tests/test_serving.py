"""benben.serving: the connection settings are defined once; the shipped ini files (read by
`benben serve --ini` and `pserve` alike) and the configuration reference say the same."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from benben.core_settings import CORE_SETTINGS
from benben.docs import render_configuration_reference
from benben.serving import SERVER_PREFIX, SERVER_SETTINGS, resolve_server_settings
from benben.settings import Setting

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {s.name[len(SERVER_PREFIX) :]: s.default for s in SERVER_SETTINGS}


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
    with pytest.raises(ValueError, match="must be >= 1"):
        setting.parser("0")
    assert setting.parser(str(setting.default)) == setting.default


def test_server_settings_are_not_application_settings() -> None:
    """They belong to [server:main]: in [app:main] they would be reported as unknown keys."""
    assert not any(s.name.startswith(SERVER_PREFIX) for s in CORE_SETTINGS)
