"""Every way a plugin can be wrong stops start-up with an error naming the plugin and the cause."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationConflictError, ConfigurationError

from benben.plugins import installed_plugins

HELLO = "benben-test-hello"

Configure = Callable[..., Configurator]


def start_up_error(configure_with: Configure, *distributions: str, **settings: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        configure_with(settings, *distributions)
    assert not isinstance(caught.value, ConfigurationConflictError)
    return str(caught.value)


def test_exception_in_includeme(configure_with: Configure) -> None:
    message = start_up_error(configure_with, HELLO, "benben-test-raising")
    assert message == (
        "plugin 'raising' failed while being included: "
        "RuntimeError: the raising plugin fails on purpose"
    )


def test_requirement_not_installed(configure_with: Configure) -> None:
    message = start_up_error(configure_with, HELLO, "benben-test-needy")
    assert message == "plugin 'needy' requires 'absent_plugin', which is not installed"


def test_requirement_cycle(configure_with: Configure) -> None:
    message = start_up_error(configure_with, "benben-test-cycle")
    assert message == "plugin 'cycle_a' is in a requirement cycle: cycle_a -> cycle_b -> cycle_a"


def test_requirement_with_an_unsatisfied_version(configure_with: Configure) -> None:
    message = start_up_error(configure_with, HELLO, "benben-test-picky")
    assert message == "plugin 'picky' requires 'hello>=2', but hello 1.2.0 is installed"


def test_incompatible_core_version(configure_with: Configure) -> None:
    message = start_up_error(configure_with, HELLO, "benben-test-old-core")
    assert message == ("plugin 'old_core' 1.0.0 supports benben <0.1, but this is benben 0.1.0")


def test_import_error(configure_with: Configure) -> None:
    message = start_up_error(configure_with, HELLO, "benben-test-broken-import")
    assert message == (
        "plugin 'broken_import': cannot import benben_test_broken_import: ModuleNotFoundError: "
        "No module named 'benben_test_dependency_nobody_installed'"
    )


def test_broken_plugin_can_be_switched_off(configure_with: Configure) -> None:
    config = configure_with(
        {"benben.plugins.disabled": "broken_import raising"},
        HELLO,
        "benben-test-broken-import",
        "benben-test-raising",
    )
    statuses = {p.name: p.status for p in installed_plugins(config.registry)}
    assert statuses == {"broken_import": "disabled", "hello": "enabled", "raising": "disabled"}


def test_metadata_of_the_wrong_type(configure_with: Configure) -> None:
    message = start_up_error(
        configure_with, "benben-test-misdeclared", **{"benben.plugins": "bad_metadata"}
    )
    assert message == (
        "plugin 'bad_metadata': benben_plugin in benben_test_misdeclared.bad_metadata "
        "is not a benben.plugin.PluginMetadata"
    )


def test_reserved_name(configure_with: Configure) -> None:
    message = start_up_error(
        configure_with, "benben-test-misdeclared", **{"benben.plugins": "health"}
    )
    assert message == "plugin 'health': plugin name 'health' is reserved for Benben's core"


@pytest.mark.parametrize(
    ("claim", "what", "discriminator"),
    [
        ("route", "route name 'hello.greet'", "('route', 'hello.greet')"),
        ("health_check", "health check 'hello'", "('benben-health-check', 'hello')"),
        ("capability", "API capability 'greetings'", "('benben-capability', 'greetings')"),
    ],
)
def test_two_plugins_claiming_the_same_thing_conflict(
    configure_with: Configure, claim: str, what: str, discriminator: str
) -> None:
    with pytest.raises(ConfigurationConflictError) as caught:
        configure_with({"benben.clash.claim": claim}, HELLO, "benben-test-clash")
    message = str(caught.value)
    assert message.startswith(f"plugins 'clash' and 'hello' register the same {what}\n")
    assert f"For: {discriminator}" in message
    assert "benben_test_clash" in message


@pytest.mark.parametrize(
    ("target", "discriminator"),
    [
        ("route", "route name 'health.ready'"),
        ("view", "view for route 'health.live'"),
        ("health_check", "health check 'database'"),
        ("capability", "API capability 'health'"),
        ("request_method", "request method 'dbsession'"),
    ],
)
def test_replacing_a_core_registration_is_refused(
    configure_with: Configure, target: str, discriminator: str
) -> None:
    message = start_up_error(
        configure_with, HELLO, "benben-test-usurper", **{"benben.usurper.target": target}
    )
    assert message.startswith(f"plugin 'usurper' tries to replace core's {discriminator} (at ")
    assert "benben_test_usurper" in message


def test_the_plugin_named_is_the_one_whose_module_registered(configure_with: Configure) -> None:
    # usurper and usurper_twin share a package; the twin's module did it.
    message = start_up_error(
        configure_with,
        "benben-test-usurper",
        **{"benben.usurper.target": "nothing", "benben.usurper_twin.replace": "true"},
    )
    assert message.startswith(
        "plugin 'usurper_twin' tries to replace core's route name 'health.live' (at "
    )


def test_failure_when_the_plugin_actions_run(configure_with: Configure) -> None:
    message = start_up_error(
        configure_with, HELLO, "benben-test-raising", **{"benben.raising.when": "commit"}
    )
    assert message.startswith("plugin 'raising' failed at commit: ConfigurationExecutionError: ")
    assert "No route named raising.nowhere found for view registration" in message


def test_unknown_view_option_is_traced_to_the_plugin(configure_with: Configure) -> None:
    message = start_up_error(
        configure_with, HELLO, "benben-test-raising", **{"benben.raising.when": "bad_option"}
    )
    assert message == (
        "plugin 'raising' failed at commit: "
        "ConfigurationError: Unknown view options: {'colour': 'blue'}"
    )


def test_committing_inside_includeme_is_refused(configure_with: Configure) -> None:
    message = start_up_error(
        configure_with, HELLO, "benben-test-usurper", **{"benben.usurper.target": "committed_route"}
    )
    assert message.startswith("plugin 'usurper' calls config.commit() in its includeme")


def test_entry_point_naming_a_module_without_includeme(configure_with: Configure) -> None:
    message = start_up_error(
        configure_with, "benben-test-misdeclared", **{"benben.plugins": "no_includeme"}
    )
    assert message == (
        "plugin 'no_includeme': entry point benben_test_misdeclared names a module "
        "without an includeme(config) function"
    )


def test_requires_given_as_a_string(configure_with: Configure) -> None:
    message = start_up_error(
        configure_with, "benben-test-misdeclared", **{"benben.plugins": "string_requires"}
    )
    assert message == (
        "plugin 'string_requires': PluginMetadata.requires must be a list, not a string"
    )


def test_setting_outside_the_plugin_namespace(configure_with: Configure) -> None:
    message = start_up_error(
        configure_with, "benben-test-misdeclared", **{"benben.plugins": "foreign_setting"}
    )
    assert message == (
        "plugin 'foreign_setting': setting benben.hello.greeting is outside the plugin's "
        "namespace benben.foreign_setting.*"
    )


def test_two_plugins_with_one_name(configure_with: Configure) -> None:
    message = start_up_error(
        configure_with,
        HELLO,
        "benben-test-bare",
        "benben-test-misdeclared",
        **{"benben.plugins": "hello bare"},
    )
    assert message == (
        "plugin 'bare': another installed plugin is named 'bare': "
        "benben_test_misdeclared.impostor:setup (benben-test-misdeclared)"
    )


def test_namesakes_can_both_be_switched_off(configure_with: Configure) -> None:
    config = configure_with(
        {"benben.plugins": "hello"}, HELLO, "benben-test-bare", "benben-test-misdeclared"
    )
    statuses = [(p.name, p.distribution, p.status) for p in installed_plugins(config.registry)]
    assert ("bare", "benben-test-bare", "disabled") in statuses
    assert ("bare", "benben-test-misdeclared", "disabled") in statuses
    assert ("hello", HELLO, "enabled") in statuses
