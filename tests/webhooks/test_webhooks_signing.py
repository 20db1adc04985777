"""Signatures verified by the Standard Webhooks reference library (standardwebhooks): one
secret, both secrets during a rotation's overlap, only the new one after it."""

from __future__ import annotations

import base64
import datetime
import json
import time
from types import SimpleNamespace

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from benben_webhooks.signing import headers, new_secret, secret_key, secrets_in_force, sign

BODY = json.dumps({"type": "record.created", "data": {"id": "r1"}}).encode()


def test_secrets_are_whsec_and_32_random_bytes():
    secrets = {new_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
        assert len(secret_key(secret)) == 32


def test_a_signature_verifies_with_the_library():
    secret = new_secret()
    now = int(time.time())
    signed = headers([secret], "msg_1", now, BODY)
    assert signed["webhook-id"] == "msg_1"
    assert signed["webhook-timestamp"] == str(now)
    assert Webhook(secret).verify(BODY, signed) == json.loads(BODY)
    # The library signs the same way.
    moment = datetime.datetime.fromtimestamp(now, datetime.UTC)
    assert sign([secret], "msg_1", now, BODY) == Webhook(secret).sign(
        "msg_1", moment, BODY.decode()
    )


def test_a_tampered_body_or_another_secret_fails():
    secret = new_secret()
    signed = headers([secret], "msg_1", int(time.time()), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY + b" ", signed)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, signed)


def test_both_secrets_sign_during_the_overlap_and_only_the_new_one_after():
    old, new = new_secret(), new_secret()
    now = datetime.datetime.now(datetime.UTC)
    endpoint = SimpleNamespace(
        secret=new,
        previous_secret=old,
        previous_secret_expires_at=now + datetime.timedelta(hours=1),
    )
    during = headers(secrets_in_force(endpoint, now), "msg_2", now, BODY)
    assert len(during["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(BODY, during) == json.loads(BODY)
    later = now + datetime.timedelta(hours=2)
    assert secrets_in_force(endpoint, later) == [new]
    after = headers(secrets_in_force(endpoint, later), "msg_2", now, BODY)
    assert Webhook(new).verify(BODY, after)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(BODY, after)


def test_naive_expiry_from_sqlite_is_read_as_utc():
    old, new = new_secret(), new_secret()
    now = datetime.datetime.now(datetime.UTC)
    naive = (now + datetime.timedelta(minutes=5)).replace(tzinfo=None)
    endpoint = SimpleNamespace(secret=new, previous_secret=old, previous_secret_expires_at=naive)
    assert secrets_in_force(endpoint, now) == [new, old]


@pytest.mark.parametrize("msg_id", ["", "a.b"])
def test_message_ids_that_would_break_the_signed_content_are_refused(msg_id):
    with pytest.raises(ValueError, match="message id"):
        sign([new_secret()], msg_id, 1, BODY)


def test_nothing_to_sign_with_is_an_error():
    with pytest.raises(ValueError, match="no secret"):
        sign([], "msg_1", 1, BODY)


def test_rotation_through_the_api_then_verified(app, who):
    """The secrets the API showed, as the endpoint holds them: both verify during the overlap."""
    from webhooks_support import create_webhook, session_of

    from benben_webhooks.models import Endpoint

    created = create_webhook(app, who.admin)
    rotated = app.post(
        f"/api/v1/webhooks/{created['id']}/secret/rotate", headers=who.admin, status=201
    ).json
    with session_of(app.app.registry) as session:
        in_force = secrets_in_force(session.get(Endpoint, created["id"]))
    assert in_force == [rotated["secret"], created["secret"]]
    signed = headers(in_force, "msg_3", int(time.time()), BODY)
    for secret in (created["secret"], rotated["secret"]):
        assert Webhook(secret).verify(BODY, signed)


def test_a_test_event_sent_during_the_overlap_verifies_with_both_secrets(app, who):
    """End to end: the API's test event, sent by the delivery side's task to a loopback
    receiver, carries signatures the library verifies with the old and the new secret."""
    from webhooks_support import create_webhook, receiver

    from benben.worker.embedded import run_queued_tasks

    with receiver() as hook:
        created = create_webhook(app, who.admin, url=hook.url)
        url = f"/api/v1/webhooks/{created['id']}"
        rotated = app.post(f"{url}/secret/rotate", headers=who.admin, status=201).json
        app.post(f"{url}/test", headers=who.admin, status=202)
        hook.secrets = [created["secret"]]
        run_queued_tasks(app.app.registry)
        assert len(hook.received) == 1
        sent = hook.received[0]
        assert sent.payload["type"] == "webhook.test"
        assert Webhook(rotated["secret"]).verify(sent.body, sent.headers) == sent.payload
    log = app.get(f"{url}/deliveries", headers=who.admin).json["data"]
    assert [(item["status"], item["attempts"]) for item in log] == [("succeeded", 1)]
