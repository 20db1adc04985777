"""The login throttle's rules, through a minimal login-like view on the real app (both backend
pairs); tests/auth/ drives it through the real login endpoint."""

from __future__ import annotations

import pytest
from pyramid.response import Response

from benben.errors import ProblemError
from benben.ratelimit.throttle import (
    account_key,
    address_key,
    get_login_throttle,
    normalise_account,
)

PROBLEM = "application/problem+json"


def add_login_route(config):
    """POST /t/login {"account", "user_id", "ok"}: acquire, then fail or succeed."""

    def login(request):
        body = request.json_body
        key = account_key(body.get("user_id"), body.get("account", ""))
        attempt = get_login_throttle(request).acquire(request, key)
        if not body.get("ok"):
            raise ProblemError(401, detail="wrong password")
        attempt.succeeded()
        return Response(json_body={"ok": True})

    config.add_route("t.login", "/t/login")
    config.add_view(login, route_name="t.login", request_method="POST")


@pytest.fixture
def throttled_app(make_app):
    """``throttled_app(per_address=..., per_account=...)``; general rate limits out of the way."""

    def factory(**limits):
        settings = {"benben.ratelimit.enabled": "false"}
        for scope, value in limits.items():
            settings[f"benben.auth.login_failures_{scope}"] = value
        return make_app(settings, include=add_login_route)

    return factory


@pytest.fixture
def app(throttled_app):
    return throttled_app()


def attempt(app, account, address="10.0.0.1", ok=False, status=None, user_id=None):
    expected = status if status is not None else (200 if ok else 401)
    body = {"account": account, "ok": ok, "user_id": user_id}
    return app.post_json("/t/login", body, extra_environ={"REMOTE_ADDR": address},
                         status=expected)  # fmt: skip


def test_five_failures_lock_the_account_even_from_other_addresses(app):
    for index in range(5):
        attempt(app, "alice", address=f"10.0.1.{index}")
    locked = attempt(app, "alice", address="10.9.9.9", ok=True, status=429)
    assert locked.content_type == PROBLEM
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    assert "Too many failed logins" in locked.json["detail"]
    # Other accounts from those addresses are unaffected.
    attempt(app, "bob", address="10.0.1.0", ok=True)


def test_the_wait_is_that_of_the_longest_full_window(throttled_app):
    # A progressive delay: the 5-minute window is full too, so waiting out the minute is not
    # enough and Retry-After must say so.
    app = throttled_app(per_account="1/minute;1/5 minutes")
    attempt(app, "carol", address="10.0.2.1")
    locked = attempt(app, "carol", address="10.0.2.2", ok=True, status=429)
    assert 60 < int(locked.headers["Retry-After"]) <= 300


def test_one_users_typos_do_not_lock_out_colleagues_behind_one_nat(app):
    office = "203.0.113.10"
    for _ in range(5):
        attempt(app, "dave", address=office)
    attempt(app, "dave", address=office, ok=True, status=429)  # dave waits...
    for index in range(20):  # ...his colleagues do not, failing or not
        attempt(app, f"colleague{index}", address=office)
        attempt(app, f"colleague{index}", address=office, ok=True)


def test_the_address_limit_stops_one_address_trying_many_accounts(throttled_app):
    app = throttled_app(per_address="3/minute")
    for index in range(3):
        attempt(app, f"target{index}", address="10.0.0.66")
    refused = attempt(app, "someone-else", address="10.0.0.66", ok=True, status=429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    attempt(app, "someone-else", address="10.0.0.67", ok=True)


def test_successes_do_not_use_up_the_address(throttled_app):
    app = throttled_app(per_address="3/minute")
    for index in range(10):
        attempt(app, f"user{index}", address="10.0.0.8", ok=True)
    for index in range(3):
        attempt(app, f"user{index}", address="10.0.0.8")
    attempt(app, "user9", address="10.0.0.8", ok=True, status=429)


def test_a_refusal_takes_nothing_from_the_other_counter(throttled_app):
    app = throttled_app(per_address="3/minute")
    # A locked account refused from an address does not spend that address's failures...
    for index in range(5):
        attempt(app, "victim", address=f"10.0.3.{index}")
    for _ in range(5):
        attempt(app, "victim", address="10.0.4.1", status=429)
    for index in range(3):
        attempt(app, f"other{index}", address="10.0.4.1")
    attempt(app, "other9", address="10.0.4.1", status=429)
    # ...and a locked address trying an account does not spend the account's failures.
    for _ in range(5):
        attempt(app, "erin", address="10.0.4.1", status=429)
    for index in range(5):
        attempt(app, "erin", address=f"10.0.5.{index}")
    attempt(app, "erin", address="10.0.5.9", ok=True, status=429)


def test_success_clears_the_account_but_not_the_address(throttled_app):
    app = throttled_app(per_address="6/minute")
    for _ in range(4):
        attempt(app, "frank", address="10.0.0.5")
    attempt(app, "frank", address="10.0.0.5", ok=True)
    for index in range(4):  # the account starts again: four more failures, then success
        attempt(app, "frank", address=f"10.0.6.{index}")
    attempt(app, "frank", address="10.0.6.9", ok=True)
    # The address kept its four failures: two more and it is refused for every account.
    attempt(app, "grace", address="10.0.0.5")
    attempt(app, "heidi", address="10.0.0.5")
    attempt(app, "ivan", address="10.0.0.5", ok=True, status=429)


def test_an_account_is_counted_by_user_id_whatever_identifier_is_typed(app):
    for index, typed in enumerate(["judy", "judy@example.org", "JUDY", "j.u.d.y", "x"]):
        attempt(app, typed, user_id=42, address=f"10.0.7.{index}")
    attempt(app, "judy", user_id=42, address="10.0.7.9", ok=True, status=429)
    attempt(app, "judy", address="10.0.7.9", ok=True)  # the bare name is another counter


def test_unknown_name_spellings_share_one_counter(app):
    fullwidth = "\uff48\uff45\uff49\uff44\uff49"  # NFKC folds it to "heidi"
    spellings = ["Heidi", " heidi ", "HEIDI", fullwidth, "heidi"]
    for index, spelling in enumerate(spellings):
        attempt(app, spelling, address=f"10.0.8.{index}")
    attempt(app, "heidi", address="10.0.8.9", ok=True, status=429)


def test_ipv6_clients_are_counted_per_64(throttled_app):
    app = throttled_app(per_address="2/minute")
    attempt(app, "a", address="2001:db8:1:2::1")
    attempt(app, "b", address="2001:db8:1:2:ffff::7")
    attempt(app, "c", address="2001:db8:1:2::99", ok=True, status=429)
    attempt(app, "c", address="2001:db8:1:3::1", ok=True)


def test_address_keys():
    assert address_key("192.0.2.1") == "192.0.2.1"
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("2001:db8::1") == address_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert address_key(None) == "unknown"
    assert address_key("not-an-address") == "not-an-address"


def test_throttle_works_while_rate_limits_are_disabled(app):
    assert app.app.registry.settings["benben.ratelimit.enabled"] is False
    for _ in range(5):
        attempt(app, "mallory")
    attempt(app, "mallory", ok=True, status=429)


def test_account_keys_are_stored_hashed():
    key = normalise_account("Alice@Example.org")
    assert "alice" not in key
    assert key == normalise_account("  alice@example.ORG ")
    assert len(key) == 64
    assert account_key(None, "Alice") == f"name:{normalise_account('alice')}"
    assert account_key(7, "anything") == "user:7"
