"""The catalog API client and the registration on start-up, against a scripted Backstage."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import webtest
from backstage_support import TOKEN, Call, FakeBackstage, backstage_error

from benben_backstage.client import BackstageError, Catalog
from benben_backstage.startup import THREAD_KEY, register_in_background

TARGET = "http://127.0.0.1:6543/backstage/catalog-info.yaml"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_register_posts_the_location_with_refresh_on_conflict(fake: FakeBackstage) -> None:
    location = {"id": "loc-1", "type": "url", "target": TARGET}
    fake.answer = lambda call: (201, {"location": location, "entities": []})
    answer = Catalog(fake.url + "/", TOKEN).register(TARGET)
    assert answer["location"] == location
    (call,) = fake.calls
    assert (call.method, call.path) == ("POST", "/api/catalog/locations?onConflict=refresh")
    assert call.body == {"type": "url", "target": TARGET}
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.headers["Content-Type"] == "application/json"


def test_dry_run_asks_backstage_to_only_validate(fake: FakeBackstage) -> None:
    Catalog(fake.url).register(TARGET, dry_run=True)
    (call,) = fake.calls
    assert call.path == "/api/catalog/locations?onConflict=refresh&dryRun=true"
    assert "Authorization" not in call.headers  # no token, no header


@pytest.mark.parametrize(
    ("answer", "message", "retryable"),
    [
        (
            backstage_error(401, "AuthenticationError", "Missing credentials"),
            "refused the credentials (401 Unauthorized: Missing credentials): set "
            "benben.backstage.token (BENBEN_BACKSTAGE_TOKEN)",
            False,
        ),
        (
            backstage_error(400, "InputError", "Reading from 'http://x.example/' is not allowed."),
            f"Backstage refused {TARGET} (400): Reading from 'http://x.example/' is not allowed.",
            True,
        ),
        (
            backstage_error(403, "NotAllowedError", "Forbidden"),
            "does not allow this token to POST /api/catalog/locations (403 Forbidden: Forbidden)",
            False,
        ),
        ((404, None), "has no catalog API (404 for POST /api/catalog/locations)", True),
        (
            (503, {"message": "down"}),
            'Backstage answered 503 to POST /api/catalog/locations: {"',
            True,
        ),
    ],
)
def test_refusals_are_one_line_with_backstages_message(
    fake: FakeBackstage, answer: tuple[int, Any], message: str, retryable: bool
) -> None:
    fake.answer = lambda call: answer
    with pytest.raises(BackstageError) as caught:
        Catalog(fake.url, TOKEN).register(TARGET)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.status == answer[0]
    assert caught.value.retryable is retryable


def test_unreachable_and_slow_backstage(fake: FakeBackstage) -> None:
    port = closed_port()
    with pytest.raises(
        BackstageError, match=f"cannot reach Backstage at http://127.0.0.1:{port}: "
    ):
        Catalog(f"http://127.0.0.1:{port}").register(TARGET)

    def slow(call: Call) -> tuple[int, Any]:
        time.sleep(1.0)
        return 201, {}

    fake.answer = slow
    with pytest.raises(BackstageError, match=r"did not answer within 0\.2s") as caught:
        Catalog(fake.url, timeout=0.2).register(TARGET)
    assert caught.value.status is None
    assert caught.value.retryable


def test_an_answer_that_is_not_json_is_not_backstage(fake: FakeBackstage) -> None:
    fake.answer = lambda call: (200, None)
    assert Catalog(fake.url).register(TARGET) == {}  # an empty answer is fine
    fake.answer = lambda call: (200, b"<html><body>Welcome</body></html>")
    with pytest.raises(BackstageError, match="not JSON: is this Backstage's URL"):
        Catalog(fake.url).register(TARGET)


def test_finding_and_deleting_a_location(fake: FakeBackstage) -> None:
    location = {"id": "a/b", "type": "url", "target": TARGET}

    def answer(call: Call) -> tuple[int, Any]:
        if call.path == "/api/catalog/locations/by-entity/component/default/known":
            return 200, location
        if call.path.startswith("/api/catalog/locations/by-entity/"):
            return backstage_error(404, "NotFoundError", "no such entity")
        if call.path == "/api/catalog/locations":
            return 200, [{"data": {"id": "x", "target": "other"}}, {"data": location}]
        return 204, None

    fake.answer = answer
    catalog = Catalog(fake.url)
    assert catalog.location_of("Component", "default", "known") == location
    assert catalog.location_of("component", "default", "unknown") is None
    assert catalog.location_by_target(TARGET) == location
    assert catalog.location_by_target("nowhere") is None
    catalog.delete_location("a/b")
    assert (fake.calls[-1].method, fake.calls[-1].path) == (
        "DELETE",
        "/api/catalog/locations/a%2Fb",
    )


# -- registration on start-up -----------------------------------------------------------------


def test_background_registration_retries_until_backstage_answers(
    fake: FakeBackstage, caplog: pytest.LogCaptureFixture
) -> None:
    answers = iter([(503, {"error": {"message": "starting"}}), (400, None), (201, {})])
    fake.answer = lambda call: next(answers)
    caplog.set_level(logging.INFO, logger="benben_backstage")
    done = register_in_background(Catalog(fake.url), TARGET, 5, 0.01, threading.Event())
    assert done is True
    assert len(fake.calls) == 3
    messages = [record.getMessage() for record in caplog.records]
    assert "attempt 1 of 5" in messages[0]
    assert "retrying in 0.01s" in messages[0]
    assert "retrying in 0.02s" in messages[1]
    assert messages[2] == f"backstage: registered {TARGET} in {fake.url}"


def test_background_registration_stops_on_a_wrong_token_or_after_its_attempts(
    fake: FakeBackstage, caplog: pytest.LogCaptureFixture
) -> None:
    fake.answer = lambda call: backstage_error(401, "AuthenticationError", "bad token")
    assert register_in_background(Catalog(fake.url), TARGET, 5, 0.01, threading.Event()) is False
    assert len(fake.calls) == 1
    assert caplog.records[-1].levelno == logging.ERROR
    fake.calls.clear()
    fake.answer = lambda call: (502, None)
    assert register_in_background(Catalog(fake.url), TARGET, 3, 0.01, threading.Event()) is False
    assert len(fake.calls) == 3


def test_the_server_starts_without_waiting_for_backstage(
    make_app: Callable[..., webtest.TestApp], fake: FakeBackstage
) -> None:
    release = threading.Event()

    def slow(call: Call) -> tuple[int, Any]:
        release.wait(10)
        return 201, {"location": {"id": "loc"}}

    fake.answer = slow
    started = time.monotonic()
    app = make_app(
        {
            "benben.public_url": "https://benben.example.org",
            "benben.backstage.url": fake.url,
            "benben.backstage.token": TOKEN,
            "benben.backstage.register_on_startup": "true",
        }
    )
    thread, _stop = app.app.registry[THREAD_KEY]
    assert thread.is_alive()  # still waiting for Backstage, yet the app is serving
    assert app.get("/health/live").status_int == 200
    release.set()
    thread.join(10)
    assert not thread.is_alive()
    assert time.monotonic() - started < 10
    (call,) = fake.calls
    assert call.body == {
        "type": "url",
        "target": "https://benben.example.org/backstage/catalog-info.yaml",
    }
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"


def test_no_registration_on_start_up_without_a_public_url(
    make_app: Callable[..., webtest.TestApp],
    fake: FakeBackstage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="benben_backstage")
    app = make_app(
        {
            "benben.public_url": "",
            "benben.backstage.url": fake.url,
            "benben.backstage.register_on_startup": "true",
        }
    )
    assert THREAD_KEY not in app.app.registry
    assert "benben.public_url is not set: skipped" in caplog.text
    off = make_app({"benben.public_url": "https://b.example.org", "benben.backstage.url": fake.url})
    assert THREAD_KEY not in off.app.registry  # register_on_startup defaults to off
    assert fake.calls == []
