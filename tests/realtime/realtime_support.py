"""Helpers of the change streams' tests."""

from __future__ import annotations

import json
from typing import Any

from benben.testing_streams import SSEClient

# Generous: on PostgreSQL an event waits for every older transaction on the server (other
# tests' too) before the feed hands it out.
WAIT = 15.0


def next_change(client: SSEClient, timeout: float = WAIT) -> dict[str, Any]:
    """The next change event (unnamed), its data parsed; fails on any named event."""
    event = client.next_event(timeout)
    assert event["event"] is None, event
    data = json.loads(event["data"])
    assert data["id"] == event["id"]
    return data


def ready(client: SSEClient) -> dict[str, Any]:
    assert client.status == 200, client.status
    assert client.headers["content-type"].startswith("text/event-stream")
    event = client.next_event(WAIT)
    assert event["event"] == "ready", event
    assert event["retry"] is not None
    body = json.loads(event["data"])
    assert body["position"] == event["id"]
    return body


def named(client: SSEClient, name: str, timeout: float = WAIT) -> dict[str, Any]:
    event = client.next_event(timeout)
    assert event["event"] == name, event
    return {"id": event["id"], **json.loads(event["data"])}


def silent(client: SSEClient, seconds: float) -> None:
    """Nothing but heartbeats arrives within ``seconds``."""
    try:
        event = client.next_event(seconds)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected event: {event}")


def principal(app: Any, headers: dict[str, str]) -> str:
    """The ``user:<id>`` principal of whoever ``headers`` authenticate."""
    return "user:" + app.get("/api/v1/auth/me", headers=headers).json["user"]["id"]
