"""A webhook receiver on loopback for the delivery tests: a small threaded HTTP server that
records each request and checks its Standard Webhooks signature with the ``standardwebhooks``
library, answering what the test tells it to; and running the delivery tasks in a test."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

__all__ = [
    "Received",
    "Receiver",
    "deliveries_of",
    "fan_out",
    "free_port",
    "include_delivery",
    "send_due",
    "wait_until",
]


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    at: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]


# What the receiver answers: (status, headers, body); a callable decides per request.
Answer = tuple[int, dict[str, str], bytes]


class Receiver:
    """``with Receiver(secrets) as receiver``: listening on ``receiver.url`` until the block ends.
    ``answer``: a fixed answer or ``answer(received) -> Answer``."""

    def __init__(
        self,
        secrets: list[str] | None = None,
        answer: Answer | Callable[[Received], Answer] = (204, {}, b""),
        port: int = 0,
        delay: float = 0.0,
        keep_alive: bool = False,
    ) -> None:
        self.secrets = list(secrets or [])
        self.answer = answer
        self.delay = delay
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0 unless asked: a closed receiver leaves no kept-alive connection that a
            # later test's sender (same port) would reach the old receiver through.
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died mid-request (a killed worker): nothing was delivered,
                    # as a real receiver would see it.
                    self.close_connection = True
                    return
                headers = {name.lower(): value for name, value in self.headers.items()}
                got = Received(self.path, headers, body, receiver.verify(body, headers))
                with receiver.lock:
                    receiver.received.append(got)
                if receiver.delay:
                    time.sleep(receiver.delay)
                status, extra, content = (
                    receiver.answer(got) if callable(receiver.answer) else receiver.answer
                )
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def verify(self, body: bytes, headers: dict[str, str]) -> bool:
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
            except Exception:  # noqa: S112 - the next secret may verify it
                continue
            return True
        return False

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        from benben_webhooks.ssrf import close_pools

        self.server.shutdown()
        self.server.server_close()
        close_pools()

    def messages(self) -> list[str]:
        with self.lock:
            return [got.message_id for got in self.received]


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # a sender gone mid-request: quiet


def free_port() -> int:
    """A loopback port nobody listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# -- the delivery side in a test ---------------------------------------------------------------


def include_delivery(config: Any) -> None:
    """``make_app(include=include_delivery)``: the delivery tasks, unless includeme declared
    them already."""
    from benben.worker.tasks import registered_tasks
    from benben_webhooks.tasks import FANOUT_TASK, register_delivery

    if FANOUT_TASK not in registered_tasks(config.registry):
        register_delivery(config)


def fan_out(registry: Any, expect: int | None = None, timeout: float = 15.0) -> int:
    """Run the fan-out task here; the deliveries it made.  ``expect``: run it again until it
    made that many.  On PostgreSQL the feed shows an event once every transaction older than
    it has ended, in the whole cluster: another session's open transaction (another test
    process) may hold it back a moment."""
    from benben.plugin import TaskContext
    from benben_webhooks.tasks import FANOUT_TASK, fanout_task

    made = int(fanout_task(TaskContext(registry, FANOUT_TASK)))
    deadline = time.monotonic() + timeout
    while expect is not None and made < expect:
        if time.monotonic() > deadline:
            raise AssertionError(f"fan-out made {made} deliveries, not {expect}")
        time.sleep(0.02)
        made += int(fanout_task(TaskContext(registry, FANOUT_TASK)))
    return made


def send_due(registry: Any, endpoint_id: str | None = None) -> int:
    """Run the send task here; the attempts it made."""
    from benben.plugin import TaskContext
    from benben_webhooks.tasks import SEND_TASK, send_task

    return int(send_task(TaskContext(registry, SEND_TASK), endpoint_id))


def deliveries_of(registry: Any, endpoint_id: str | None = None) -> list[Any]:
    """The delivery rows (of an endpoint), in feed order, detached."""
    from sqlalchemy import select

    from benben.db import session_factory
    from benben_webhooks.models import Delivery

    with session_factory(registry)() as session:
        query = select(Delivery).order_by(Delivery.event_tx, Delivery.event_id, Delivery.id)
        if endpoint_id is not None:
            query = query.where(Delivery.endpoint_id == endpoint_id)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows
