"""Which installed plugins run: ``benben.plugins``, ``benben.plugins.disabled``, settings
namespaces, and a plugin without metadata."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import webtest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from benben.config import resolved_settings
from benben.plugins import discover_plugins, installed_plugins

HELLO = "benben-test-hello"
EXTRA = "benben-test-greeter-extra"
BARE = "benben-test-bare"

Configure = Callable[..., Configurator]


def statuses(config: Configurator) -> dict[str, tuple[str, str]]:
    return {p.name: (p.status, p.reason) for p in installed_plugins(config.registry)}


def test_discovery_reads_the_entry_points_of_installed_distributions(installed: Any) -> None:
    plugins = {p.name: p for p in discover_plugins(installed.entry_points(HELLO, EXTRA, BARE))}
    assert sorted(plugins) == ["bare", "greeter_extra", "hello"]
    assert plugins["hello"].entry_point == "benben_test_hello"
    assert plugins["hello"].distribution == HELLO
    assert plugins["hello"].metadata.core == ">=0.1"
    assert plugins["greeter_extra"].metadata.requires == ["hello>=1.0"]
    # Named by its metadata, not by its entry point "greeter-extra".
    assert plugins["greeter_extra"].entry_point == "benben_test_greeter_extra"
    assert plugins["bare"].entry_point == "benben_test_bare:setup"
    assert plugins["bare"].location is not None
    assert plugins["bare"].location.endswith("benben_test_bare")


def test_all_installed_plugins_run_by_default(configure_with: Configure) -> None:
    config = configure_with({}, HELLO, EXTRA, BARE)
    assert statuses(config) == {
        "bare": ("enabled", ""),
        "greeter_extra": ("enabled", ""),
        "hello": ("enabled", ""),
    }


def test_an_explicit_list_enables_only_those(configure_with: Configure) -> None:
    config = configure_with({"benben.plugins": "hello"}, HELLO, EXTRA, BARE)
    assert statuses(config) == {
        "bare": ("disabled", "not listed in benben.plugins"),
        "greeter_extra": ("disabled", "not listed in benben.plugins"),
        "hello": ("enabled", ""),
    }
    assert config.registry["benben_test.included"] == ["hello"]
    app = webtest.TestApp(config.make_wsgi_app())
    assert [p["name"] for p in app.get("/api/v1/").json["plugins"]] == ["hello"]
    app.get("/bare/ping", status=404)


def test_disabled_plugin_is_off_and_its_dependents_fail(configure_with: Configure) -> None:
    config = configure_with({"benben.plugins.disabled": "greeter_extra"}, HELLO, EXTRA)
    assert statuses(config)["greeter_extra"] == (
        "disabled",
        "listed in benben.plugins.disabled",
    )
    with pytest.raises(ConfigurationError) as caught:
        configure_with({"benben.plugins.disabled": "hello"}, HELLO, EXTRA)
    assert str(caught.value) == (
        "plugin 'greeter_extra' requires 'hello', which is disabled "
        "(listed in benben.plugins.disabled)"
    )


def test_dependent_of_a_plugin_left_out_of_the_list_fails(configure_with: Configure) -> None:
    with pytest.raises(ConfigurationError) as caught:
        configure_with({"benben.plugins": "greeter_extra"}, HELLO, EXTRA)
    assert str(caught.value) == (
        "plugin 'greeter_extra' requires 'hello', which is disabled (not listed in benben.plugins)"
    )


@pytest.mark.parametrize("setting", ["benben.plugins", "benben.plugins.disabled"])
def test_naming_a_plugin_that_is_not_installed_is_an_error(
    configure_with: Configure, setting: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        configure_with({setting: "hello, helo"}, HELLO, BARE)
    assert str(caught.value) == (
        f"plugin 'helo' named in {setting} is not installed (installed: bare, hello)"
    )


def test_plugin_without_metadata_takes_name_and_version_from_its_distribution(
    configure_with: Configure,
) -> None:
    config = configure_with({"benben.bare.colour": "blue", "benben.hello.greeting": "Hi"}, BARE)
    app = webtest.TestApp(config.make_wsgi_app())
    # Its namespace is open: undeclared keys pass through as the ini gave them, and it sees
    # only its own.
    assert app.get("/bare/ping").json == {
        "plugin": "bare",
        "version": "2.3.4",
        "settings": {"colour": "blue"},
    }
    listed = app.get("/api/v1/").json["plugins"]
    assert listed == [
        {
            "name": "bare",
            "version": "2.3.4",
            "distribution": BARE,
            "status": "enabled",
            "url": "/bare",
            "description": "",
        }
    ]
    assert resolved_settings(config.registry).unknown == ["benben.hello.greeting"]


def test_unknown_keys_in_a_declared_namespace_are_reported(configure_with: Configure) -> None:
    config = configure_with(
        {"benben.hello.greting": "Hi", "benben.hello.greeting": "Hey", "benben.nobody.x": "1"},
        HELLO,
    )
    resolved = resolved_settings(config.registry)
    assert resolved.unknown == ["benben.hello.greting", "benben.nobody.x"]
    assert resolved.values["benben.hello.greeting"] == "Hey"
    assert "benben.hello.greting" not in config.registry.settings


def test_settings_of_a_disabled_plugin_are_not_unknown(configure_with: Configure) -> None:
    config = configure_with({"benben.plugins": "bare", "benben.hello.typo": "x"}, HELLO, BARE)
    assert resolved_settings(config.registry).unknown == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("ini", "invalid value 'lots' for setting benben.hello.max_name_length (from ini)"),
        (
            "env",
            "invalid value 'lots' for setting benben.hello.max_name_length "
            "(from environment variable BENBEN_HELLO_MAX_NAME_LENGTH)",
        ),
    ],
)
def test_bad_value_of_a_declared_setting_names_the_key(
    configure_with: Configure, source: str, expected: str
) -> None:
    overrides = {"benben.hello.max_name_length": "lots"} if source == "ini" else {}
    environ = {"BENBEN_HELLO_MAX_NAME_LENGTH": "lots"} if source == "env" else {}
    with pytest.raises(ConfigurationError) as caught:
        configure_with(overrides, HELLO, environ=environ)
    assert str(caught.value) == f"{expected}: expected an integer"


def test_declared_default_applies(configure_with: Configure) -> None:
    config = configure_with({}, HELLO)
    resolved = resolved_settings(config.registry)
    assert resolved.values["benben.hello.greeting"] == "Hello"
    assert resolved.sources["benben.hello.greeting"] == "default"
    assert resolved.values["benben.hello.max_name_length"] == 40
