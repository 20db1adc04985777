"""Helpers of the webhooks plugin's tests: people, endpoints, rows written directly, and a
loopback receiver that checks every signature with the Standard Webhooks library."""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import webtest
from standardwebhooks import Webhook

from benben.testing import committed_session
from benben.testing_auth import add_user, bearer, login

LOOPBACK = "127.0.0.0/8 ::1/128"
HOOK_URL = "https://hooks.example.org/benben"


@dataclass
class People:
    """An administrator and two ordinary users, logged in."""

    admin: dict[str, str]
    alice: dict[str, str]
    bob: dict[str, str]
    ids: dict[str, str]


def people(app: webtest.TestApp) -> People:
    registry = app.app.registry
    ids = {
        "root": add_user(registry, "root", is_admin=True),
        "alice": add_user(registry, "alice"),
        "bob": add_user(registry, "bob"),
    }
    headers = {name: bearer(login(app, name)["access_token"]) for name in ids}
    return People(headers["root"], headers["alice"], headers["bob"], ids)


def create_collection(app: webtest.TestApp, headers: dict[str, str], cid: str) -> None:
    app.post_json("/api/v1/collections", {"id": cid}, headers=headers, status=201)


def create_webhook(
    app: webtest.TestApp, headers: dict[str, str], status: int = 201, **fields: Any
) -> Any:
    body = {"url": HOOK_URL, **fields}
    return app.post_json("/api/v1/webhooks", body, headers=headers, status=status).json


# A session committed on exit: benben.testing's.
session_of = committed_session


def add_delivery(
    registry: Any,
    endpoint_id: str,
    *,
    status: str = "succeeded",
    position: tuple[int, int] = (1, 1),
    created_at: datetime.datetime | None = None,
    attempts: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> str:
    """A delivery row as the fan-out and the sender leave it, with its attempts; its id."""
    from benben_webhooks.jsonview import new_id, utcnow
    from benben_webhooks.models import Attempt, Delivery

    now = created_at or utcnow()
    delivery_id = new_id()
    with session_of(registry) as session:
        last = attempts[-1] if attempts else {}
        session.add(
            Delivery(
                id=delivery_id,
                endpoint_id=endpoint_id,
                message_id="msg_" + delivery_id.replace("-", ""),
                event_type="record.created",
                event_tx=position[0],
                event_id=position[1],
                payload={"type": "record.created", "data": {"collection": "c"}},
                status=status,
                attempts=len(attempts),
                next_attempt_at=now,
                created_at=now,
                last_attempt_at=now if attempts else None,
                last_status_code=last.get("status_code"),
                last_error=last.get("error"),
            )
        )
        session.flush()
        for attempt in attempts:
            session.add(
                Attempt(
                    delivery_id=delivery_id,
                    endpoint_id=endpoint_id,
                    attempted_at=now,
                    succeeded=attempt.get("succeeded", False),
                    status_code=attempt.get("status_code"),
                    latency_ms=attempt.get("latency_ms", 10),
                    error=attempt.get("error"),
                    response_body=attempt.get("response_body"),
                )
            )
    return delivery_id


def delivery_row(registry: Any, delivery_id: str) -> dict[str, Any]:
    from benben_webhooks.models import Delivery

    with session_of(registry) as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        return {
            "status": row.status,
            "attempts": row.attempts,
            "next_attempt_at": row.next_attempt_at,
            "message_id": row.message_id,
            "payload": row.payload,
            "event_type": row.event_type,
        }


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    payload: Any


@dataclass
class Receiver:
    """A loopback HTTP receiver: answers ``status`` and keeps what it verified (``secrets``:
    every secret it accepts; a request none of them verifies is kept in ``refused``)."""

    secrets: list[str] = field(default_factory=list)
    status: int = 204
    received: list[Received] = field(default_factory=list)
    refused: list[Received] = field(default_factory=list)
    url: str = ""

    def verify(self, headers: dict[str, str], body: bytes) -> Any:
        for secret in self.secrets:
            try:
                return Webhook(secret).verify(body, headers)
            except Exception:  # noqa: S112 - the next secret may verify it
                continue
        return None


@contextmanager
def receiver(secrets: list[str] | None = None, status: int = 204) -> Iterator[Receiver]:
    state = Receiver(secrets=list(secrets or []), status=status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            payload = state.verify(headers, body)
            item = Received(headers, body, payload if payload is not None else json.loads(body))
            (state.received if payload is not None else state.refused).append(item)
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
