"""Login throttling settings: bounds, defaults, and the retired single setting refused by name."""

from __future__ import annotations

import pytest
from limits.storage import MemoryStorage, storage_from_string
from pyramid.exceptions import ConfigurationError

from benben.config import configure
from benben.ratelimit.reserve import can_give_back
from benben.ratelimit.throttle import THROTTLE_KEY

OLD = "benben.auth.login_failures"
PER_ACCOUNT = "benben.auth.login_failures_per_account"
PER_ADDRESS = "benben.auth.login_failures_per_address"


@pytest.fixture
def settings(tmp_path):
    return {"benben.data_dir": str(tmp_path / "var")}


def test_defaults_are_progressive_per_account_and_nat_friendly_per_address(settings):
    throttle = configure(settings, environ={}).registry[THROTTLE_KEY]
    assert [(i.amount, i.get_expiry()) for i in throttle.per_account] == [(5, 60), (10, 300)]
    assert [(i.amount, i.get_expiry()) for i in throttle.per_address] == [(100, 900)]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (PER_ACCOUNT, "5/day"),  # a stranger could keep the owner out for a day
        (PER_ACCOUNT, "5/minute;10/2 hours"),
        (PER_ACCOUNT, "1001/minute"),
        (PER_ACCOUNT, "often"),
        (PER_ADDRESS, "100/2 days"),
        (PER_ADDRESS, "100001/hour"),
        (PER_ADDRESS, "0/minute"),
    ],
)
def test_values_out_of_bounds_are_refused_naming_the_setting(settings, key, value):
    with pytest.raises(ConfigurationError) as error:
        configure({**settings, key: value}, environ={})
    assert key in str(error.value)


def test_values_at_the_bounds_are_accepted(settings):
    configure({**settings, PER_ACCOUNT: "1000/hour", PER_ADDRESS: "100000/day"}, environ={})


@pytest.mark.parametrize("where", ["ini", "env"])
def test_the_retired_setting_is_refused_naming_its_replacements(settings, where):
    if where == "ini":
        raw, environ = {**settings, OLD: "5/minute"}, {}
    else:
        raw, environ = settings, {"BENBEN_AUTH_LOGIN_FAILURES": "5/minute"}
    with pytest.raises(ConfigurationError) as error:
        configure(raw, environ=environ)
    message = str(error.value)
    assert OLD in message
    assert PER_ACCOUNT in message
    assert PER_ADDRESS in message


def test_only_storages_that_can_give_a_slot_back_serve_throttling():
    # Checked at start-up: the give-back works on memory's and Redis's own list layout only.
    assert can_give_back(MemoryStorage())
    assert can_give_back(storage_from_string("redis://127.0.0.1:6379/0"))  # connects lazily
    assert not can_give_back(object())  # e.g. memcached or MongoDB storages
