"""The login view applies the login throttle: guessing at one account is slowed, atomically, in
one counter whatever identifier is typed, without telling unknown names from real ones."""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest
from webob import Request

from benben.security.passwords import get_password_hasher
from benben.testing_auth import DEFAULT_PASSWORD as PASSWORD
from benben.testing_auth import bearer, login

LOGIN = "/api/v1/auth/login"
WRONG = "wrong password!"


def attempt(app, status, address="10.0.0.1", **body):
    body.setdefault("password", WRONG)
    return app.post_json(LOGIN, body, extra_environ={"REMOTE_ADDR": address}, status=status)


@pytest.fixture
def verifications(app):
    """How many argon2 verifications (real or dummy) the app has run."""
    hasher = get_password_hasher(app.app.registry)
    real = hasher.verify
    count = Counter()
    lock = threading.Lock()

    def counting(password_hash, password):
        with lock:
            count["verify"] += 1
        return real(password_hash, password)

    hasher.verify = counting  # verify_dummy() goes through it too
    return count


def parallel_logins(wsgi_app, body, clients):
    """POST the login once from each client address, all threads released at once."""
    barrier = threading.Barrier(clients)
    statuses: list[int] = []

    def post(index):
        request = Request.blank(LOGIN, method="POST", body=json.dumps(body).encode(),
                                content_type="application/json",
                                environ={"REMOTE_ADDR": f"198.51.100.{index}"})  # fmt: skip
        barrier.wait()
        statuses.append(request.get_response(wsgi_app).status_code)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return Counter(statuses)


@pytest.mark.parametrize("username", ["alice", "ghost"])
def test_parallel_wrong_passwords_get_at_most_the_limit_of_checks(
    app, create_user, verifications, username
):
    # The reproduction: 30 parallel wrong passwords from 30 addresses against a limit
    # of 5 (the default) got 8 password checks when checking and counting were separate steps.
    create_user("alice")
    statuses = parallel_logins(app.app, {"username": username, "password": WRONG}, 30)
    assert verifications["verify"] == 5
    assert statuses == {401: 5, 429: 25}


def test_failures_lock_the_account_even_for_the_right_password(app, create_user):
    create_user("alice")
    for index in range(5):
        attempt(app, 401, address=f"10.0.1.{index}", username="alice")
    locked = attempt(app, 429, address="10.0.2.1", username="ALICE", password=PASSWORD)
    assert locked.content_type == "application/problem+json"
    assert 1 <= int(locked.headers["Retry-After"]) <= 60


def test_username_email_and_login_share_one_counter(app, create_user):
    create_user("bob", email="Bob.Smith@example.org")
    attempt(app, 401, address="10.0.3.1", username="bob")
    attempt(app, 401, address="10.0.3.2", email="bob.smith@example.org")
    attempt(app, 401, address="10.0.3.3", login="BOB.SMITH@EXAMPLE.ORG")
    attempt(app, 401, address="10.0.3.4", login="Bob")
    attempt(app, 401, address="10.0.3.5", email="Bob.Smith@example.org")
    attempt(app, 429, address="10.0.3.6", username="bob", password=PASSWORD)


def test_unknown_names_are_refused_exactly_like_real_accounts(app, create_user, verifications):
    create_user("carol")
    answers = {}
    for name in ("carol", "nobody"):
        for index in range(5):
            attempt(app, 401, address=f"10.0.4.{index}", username=name)
        answers[name] = attempt(app, 429, address="10.0.4.9", username=name)
    assert verifications["verify"] == 10  # an unknown name costs a verification like a real one
    real, unknown = answers["carol"].json, answers["nobody"].json
    assert {k: v for k, v in real.items() if k not in ("detail", "instance", "request_id")} == {
        k: v for k, v in unknown.items() if k not in ("detail", "instance", "request_id")
    }
    for answer in answers.values():
        assert 1 <= int(answer.headers["Retry-After"]) <= 60
        assert answer.json["detail"].startswith("Too many failed logins for this account or")


def test_one_colleagues_typos_do_not_lock_the_office_out(app, create_user):
    create_user("dave")
    create_user("erin")
    office = "203.0.113.10"
    for _ in range(5):
        attempt(app, 401, address=office, username="dave")
    attempt(app, 429, address=office, username="dave", password=PASSWORD)
    assert login(app, "erin", extra_environ={"REMOTE_ADDR": office})["access_token"]


def test_a_successful_login_resets_the_account_counter(app, create_user):
    create_user("frank")
    for _ in range(4):
        attempt(app, 401, username="frank")
    assert login(app, "frank")["access_token"]
    for _ in range(4):
        attempt(app, 401, username="frank")
    assert login(app, "frank")["access_token"]


def test_wrong_current_passwords_count_as_failed_logins(app, create_user):
    user_id = create_user("grace")
    headers = bearer(login(app, "grace")["access_token"])
    body = {"password": "a brand new passphrase 42", "current_password": WRONG}
    for _ in range(3):
        app.patch_json(f"/api/v1/users/{user_id}", body, headers=headers, status=400)
    attempt(app, 401, address="10.0.5.1", email="grace@example.org")
    attempt(app, 401, address="10.0.5.2", username="grace")
    attempt(app, 429, address="10.0.5.3", username="grace", password=PASSWORD)
