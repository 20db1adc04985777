"""Settings: defined once, ini over defaults, BENBEN_* env over ini, invalid values refused."""

from __future__ import annotations

import pytest
from pyramid.exceptions import ConfigurationError

from benben.core_settings import CORE_SETTINGS
from benben.settings import (
    SECRET_MASK,
    Setting,
    as_bool,
    as_choice,
    as_float,
    as_int,
    as_list,
    env_name,
    resolve_settings,
)


def resolve(raw=None, environ=None, **kwargs):
    return resolve_settings(raw or {}, environ or {}, CORE_SETTINGS, **kwargs)


def test_every_core_setting_has_a_default_and_help():
    names = [s.name for s in CORE_SETTINGS]
    assert len(names) == len(set(names))
    resolved = resolve()
    assert set(resolved.values) == set(names)
    assert set(resolved.sources.values()) == {"default"}
    assert all(s.help for s in CORE_SETTINGS)
    assert resolved.values["benben.environment"] == "development"
    assert resolved.values["benben.cache.backend"] == "memory"


def test_ini_overrides_default_and_env_overrides_ini():
    raw = {"benben.database.url": "sqlite:///ini.sqlite", "benben.database.pool_size": "7"}
    environ = {"BENBEN_DATABASE_URL": "postgresql://db/env"}
    resolved = resolve(raw, environ)
    assert resolved.values["benben.database.url"] == "postgresql://db/env"
    assert resolved.sources["benben.database.url"] == "env"
    assert resolved.values["benben.database.pool_size"] == 7
    assert resolved.sources["benben.database.pool_size"] == "ini"
    assert resolved.values["benben.database.max_overflow"] == 10
    assert resolved.sources["benben.database.max_overflow"] == "default"


def test_env_names_are_derived_from_dotted_names():
    assert env_name("benben.database.url") == "BENBEN_DATABASE_URL"
    assert env_name("benben.my-plugin.page_size") == "BENBEN_MY_PLUGIN_PAGE_SIZE"
    resolved = resolve(environ={"BENBEN_CACHE_RETRY_INTERVAL": "0.25"})
    assert resolved.values["benben.cache.retry_interval"] == 0.25


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("benben.environment", "staging", "accepted values: development, production"),
        ("benben.cache.backend", "memcached", "accepted values: memory, redis, null"),
        ("benben.database.pool_size", "0", "must be >= 1"),
        ("benben.database.pool_size", "many", "expected an integer"),
        ("benben.health.timeout", "fast", "expected a number"),
        ("benben.database.echo", "perhaps", "expected a boolean"),
    ],
)
def test_invalid_ini_value_names_key_and_accepted_values(key, value, expected):
    with pytest.raises(ConfigurationError) as raised:
        resolve({key: value})
    message = str(raised.value)
    assert key in message
    assert expected in message
    assert repr(value) in message


def test_invalid_env_value_names_the_variable():
    with pytest.raises(ConfigurationError) as raised:
        resolve(environ={"BENBEN_ENVIRONMENT": "prod"})
    assert "benben.environment" in str(raised.value)
    assert "BENBEN_ENVIRONMENT" in str(raised.value)
    assert "development, production" in str(raised.value)


def test_unknown_benben_keys_are_reported_others_passed_through():
    raw = {"benben.cache.backnd": "redis", "benben.nothing": "x", "pyramid.reload_templates": "1"}
    resolved = resolve(raw)
    assert resolved.unknown == ["benben.cache.backnd", "benben.nothing"]
    assert "benben.cache.backnd" not in resolved.values
    assert resolved.passthrough == {"pyramid.reload_templates": "1"}
    assert resolved.as_pyramid_settings()["pyramid.reload_templates"] == "1"


def test_open_namespaces_accept_any_key():
    resolved = resolve({"benben.someplugin.anything": "1"}, open_namespaces=["benben.someplugin."])
    assert resolved.unknown == []
    assert resolved.values["benben.someplugin.anything"] == "1"


def test_describe_masks_secrets():
    resolved = resolve({"benben.database.url": "postgresql://u:pw@db/x", "benben.secret": "s" * 64})
    rows = {name: (shown, source) for name, shown, source in resolved.describe()}
    assert rows["benben.database.url"] == (SECRET_MASK, "ini")
    assert rows["benben.secret"] == (SECRET_MASK, "ini")
    assert rows["benben.plugins"] == ("all", "default")
    assert rows["benben.cache.prefix"] == ("benben:", "default")


def test_definitions_must_be_namespaced_and_unique():
    with pytest.raises(ConfigurationError, match=r"must start with 'benben\.'"):
        Setting("cache.url")
    with pytest.raises(ConfigurationError, match="defined twice"):
        resolve_settings({}, {}, [Setting("benben.x"), Setting("benben.x")])


def test_parsers():
    assert as_bool("Yes") is True
    assert as_bool("off") is False
    assert as_list("a, b  c") == ("a", "b", "c")
    assert as_list(["a", " ", "b"]) == ("a", "b")
    assert as_choice("x", "y")(" X ") == "x"
    assert as_int(1, 3)("3") == 3
    with pytest.raises(ValueError, match="must be <= 3"):
        as_int(1, 3)("4")
    assert as_float(0, 1)("0.5") == 0.5
    with pytest.raises(ValueError, match="must be >= 0"):
        as_float(0, 1)("-1")
    for text in ("nan", "NaN", "inf", "-Infinity"):
        with pytest.raises(ValueError, match="finite"):
            as_float(0, 1)(text)
        with pytest.raises(ValueError, match="finite"):
            as_float()(text)
