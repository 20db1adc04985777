"""Rate-limit settings and the set_ratelimit_group directive: bad input is refused by name."""

from __future__ import annotations

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationConflictError, ConfigurationError

from benben.config import configure
from benben.ratelimit.rules import ROUTE_GROUPS_KEY
from benben.ratelimit.store import storage_url


@pytest.fixture
def settings(tmp_path):
    return {"benben.data_dir": str(tmp_path / "var")}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("benben.ratelimit.default", "lots"),
        ("benben.ratelimit.default", "10/fortnight"),
        ("benben.ratelimit.default", "0/minute"),
        ("benben.ratelimit.groups", "auth=often"),
        ("benben.ratelimit.groups", "auth"),
        ("benben.ratelimit.groups", "Auth!=3/minute"),
        ("benben.ratelimit.storage_url", "carrier-pigeon://coop"),
        ("benben.ratelimit.storage_url", "async+memory://"),
        ("benben.auth.login_failures_per_account", "five"),
        ("benben.auth.login_failures_per_address", "0/minute"),
        ("benben.ratelimit.lease_slots", "0"),
        ("benben.ratelimit.lease_slots", "many"),
    ],
)
def test_invalid_settings_are_refused_naming_the_setting(settings, key, value):
    with pytest.raises(ConfigurationError) as error:
        configure({**settings, key: value}, environ={})
    assert key in str(error.value)


def test_storage_follows_the_cache_when_not_set():
    assert storage_url({"benben.cache.backend": "memory"}) == "memory://"
    assert (
        storage_url({"benben.cache.backend": "redis", "benben.cache.url": "redis://cache:6379/2"})
        == "redis://cache:6379/2"
    )
    explicit = {
        "benben.ratelimit.storage_url": "redis://limits:6379/0",
        "benben.cache.backend": "redis",
        "benben.cache.url": "redis://cache:6379/2",
    }
    assert storage_url(explicit) == "redis://limits:6379/0"


def test_routes_are_assigned_to_groups(settings):
    config = configure(settings, environ={})
    config.set_ratelimit_group("api.things", "things")
    config.commit()
    assert config.registry[ROUTE_GROUPS_KEY]["api.things"] == "things"


def test_invalid_group_name_is_refused(settings):
    config = configure(settings, environ={})
    with pytest.raises(ConfigurationError, match="group name"):
        config.set_ratelimit_group("api.things", "Bad Group")


def test_conflicting_assignments_conflict(settings):
    config = configure(settings, environ={})

    def first(config: Configurator) -> None:
        config.set_ratelimit_group("api.things", "auth")

    def second(config: Configurator) -> None:
        config.set_ratelimit_group("api.things", "write")

    config.include(first)
    config.include(second)
    with pytest.raises(ConfigurationConflictError):
        config.commit()
