"""The login throttle's rules, through a minimal login-like view on the real app (both backend
pairs); tests/auth/ drives it through the real login endpoint."""

from __future__ import annotations

import pytest
from pyramid.response import Response

from benben.errors import ProblemError
from benben.security.throttle import get_login_throttle, normalise_account

PROBLEM = "application/problem+json"


def add_login_route(config):
    """POST /t/login {"account", "ok"}: check, then record the failure or reset on success."""

    def login(request):
        throttle = get_login_throttle(request)
        account = request.json_body["account"]
        throttle.check(request, account)
        if not request.json_body.get("ok"):
            throttle.record_failure(request, account)
            raise ProblemError(401, detail="wrong password")
        throttle.reset(request, account)
        return Response(json_body={"ok": True})

    config.add_route("t.login", "/t/login")
    config.add_view(login, route_name="t.login", request_method="POST")


@pytest.fixture
def app(make_app):
    # General limits out of the way: this is about the login throttle alone.
    return make_app({"benben.ratelimit.enabled": "false"}, include=add_login_route)


def attempt(app, account, address="10.0.0.1", ok=False, status=None):
    expected = status if status is not None else (200 if ok else 401)
    return app.post_json("/t/login", {"account": account, "ok": ok},
                         extra_environ={"REMOTE_ADDR": address}, status=expected)  # fmt: skip


def test_five_failures_lock_the_account_even_from_another_address(app):
    for index in range(5):
        attempt(app, "alice", address=f"10.0.1.{index}")
    locked = attempt(app, "alice", address="10.9.9.9", ok=True, status=429)
    assert locked.content_type == PROBLEM
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    assert "Too many failed logins" in locked.json["detail"]


def test_five_failures_lock_the_address_even_for_another_account(app):
    for index in range(5):
        attempt(app, f"user{index}", address="10.0.0.66")
    attempt(app, "someone-else", address="10.0.0.66", ok=True, status=429)
    # Another address is not affected, nor is the account elsewhere.
    attempt(app, "someone-else", address="10.0.0.67", ok=True)


def test_checking_consumes_nothing(app):
    for _ in range(4):
        attempt(app, "carol")
    for _ in range(3):  # successful logins of other accounts only check this address
        attempt(app, "dave", ok=True)
    attempt(app, "carol", ok=True)


def test_success_clears_the_account_but_not_the_address(app):
    for _ in range(4):
        attempt(app, "erin", address="10.0.0.5")
    attempt(app, "erin", address="10.0.0.5", ok=True)
    # The account starts again (from elsewhere: five more failures are needed).
    for index in range(4):
        attempt(app, "erin", address=f"10.0.2.{index}")
    attempt(app, "erin", address="10.0.3.1", ok=True)
    # The address kept its four failures: one more and it is locked for every account.
    attempt(app, "frank", address="10.0.0.5")
    attempt(app, "grace", address="10.0.0.5", ok=True, status=429)


def test_account_spellings_share_one_counter(app):
    fullwidth = "\uff48\uff45\uff49\uff44\uff49"  # NFKC folds it to "heidi"
    spellings = ["Heidi", " heidi ", "HEIDI", fullwidth, "heidi"]
    for index, spelling in enumerate(spellings):
        attempt(app, spelling, address=f"10.0.4.{index}")
    attempt(app, "heidi", address="10.0.5.1", ok=True, status=429)


def test_configured_number_of_failures(make_app):
    app = make_app({"benben.auth.login_failures": "2/minute"}, include=add_login_route)
    attempt(app, "ivan")
    attempt(app, "ivan")
    attempt(app, "ivan", ok=True, status=429)


def test_throttle_works_while_rate_limits_are_disabled(app):
    assert app.app.registry.settings["benben.ratelimit.enabled"] is False
    for _ in range(5):
        attempt(app, "judy")
    attempt(app, "judy", ok=True, status=429)


def test_account_keys_are_stored_hashed():
    key = normalise_account("Alice@Example.org")
    assert "alice" not in key
    assert key == normalise_account("  alice@example.ORG ")
    assert len(key) == 64
