"""Composition: settings checked at start-up, production strictness, auto-migration."""

from __future__ import annotations

import json
import logging
import secrets

import pytest
from pyramid.exceptions import ConfigurationError
from sqlalchemy import inspect

from benben.config import configure, make_wsgi_app, resolved_settings, should_auto_migrate
from benben.core_settings import CORE_SETTINGS
from benben.db import get_engine
from benben.settings import resolve_settings

PRODUCTION_SECRET = secrets.token_urlsafe(64)


def settings_for(tmp_path, **overrides):
    return {"benben.data_dir": str(tmp_path / "var"), **overrides}


def test_configure_exposes_resolved_settings(tmp_path):
    config = configure(
        settings_for(tmp_path, **{"benben.cache.expiration": "60"}),
        environ={"BENBEN_CACHE_PREFIX": "from-env:"},
    )
    resolved = resolved_settings(config.registry)
    assert resolved.values["benben.cache.expiration"] == 60
    assert resolved.sources["benben.cache.prefix"] == "env"
    assert config.registry.settings["benben.cache.prefix"] == "from-env:"
    get_engine(config.registry).dispose()


def test_unknown_setting_is_reported_and_logged(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="benben.config")
    config = configure(settings_for(tmp_path, **{"benben.databse.url": "x"}), environ={})
    assert resolved_settings(config.registry).unknown == ["benben.databse.url"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "benben.config"]
    assert warnings == ["unknown setting benben.databse.url is ignored (see `benben config`)"]
    get_engine(config.registry).dispose()


def test_invalid_value_fails_start_up(tmp_path):
    with pytest.raises(ConfigurationError, match=r"benben\.cache\.backend.*memory, redis, null"):
        make_wsgi_app(settings_for(tmp_path, **{"benben.cache.backend": "disk"}), environ={})


def test_production_requires_database_url(tmp_path):
    settings = settings_for(tmp_path, **{"benben.environment": "production"})
    with pytest.raises(ConfigurationError, match=r"benben\.database\.url is required"):
        configure(settings, environ={"BENBEN_SECRET": PRODUCTION_SECRET})


def test_production_requires_a_secret(tmp_path):
    settings = settings_for(
        tmp_path, **{"benben.environment": "production", "benben.database.url": "sqlite://"}
    )
    with pytest.raises(ConfigurationError, match=r"benben\.secret is required in production"):
        configure(settings, environ={})
    assert not (tmp_path / "var" / "secret.key").exists()  # never generated in production


def test_production_starts_with_secret_and_database(tmp_path):
    settings = settings_for(
        tmp_path,
        **{"benben.environment": "production", "benben.database.url": "sqlite://"},
    )
    config = configure(settings, environ={"BENBEN_SECRET": PRODUCTION_SECRET})
    assert config.registry.settings["benben.secret"] == PRODUCTION_SECRET
    assert resolved_settings(config.registry).sources["benben.secret"] == "env"
    get_engine(config.registry).dispose()


@pytest.mark.parametrize(
    ("url", "choice", "expected"),
    [
        ("", "auto", True),
        ("sqlite:///elsewhere.sqlite", "auto", True),
        ("postgresql://db/benben", "auto", False),
        ("postgresql://db/benben", "true", True),
        ("", "false", False),
    ],
)
def test_should_auto_migrate(url, choice, expected):
    raw = {"benben.database.url": url, "benben.database.auto_migrate": choice}
    settings = resolve_settings(raw, {}, CORE_SETTINGS).values
    assert should_auto_migrate(settings) is expected


def test_embedded_default_migrates_on_first_start(tmp_path):
    app = make_wsgi_app(settings_for(tmp_path), environ={})
    engine = get_engine(app.registry)
    try:
        assert "benben_version_core" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_auto_migrate_false_leaves_the_database_alone(tmp_path):
    app = make_wsgi_app(
        settings_for(tmp_path, **{"benben.database.auto_migrate": "false"}), environ={}
    )
    engine = get_engine(app.registry)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_start_up_warnings_use_the_configured_log_format(tmp_path, capsys):
    settings = settings_for(tmp_path, **{"benben.logging.format": "json", "benben.colour": "x"})
    app = make_wsgi_app(settings, environ={}, setup_logging=True)
    get_engine(app.registry).dispose()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    (warning,) = [line for line in lines if line["logger"] == "benben.config"]
    assert warning["level"] == "warning"
    assert warning["message"] == "unknown setting benben.colour is ignored (see `benben config`)"
