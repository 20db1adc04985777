"""docs/webhooks.md's signature checks work: its Python and its JavaScript receiver are extracted
from the page and run, as a reader would run them, against deliveries signed by Benben's own
signing code (rotation's two signatures included), and refuse what Benben did not sign.

The JavaScript runs under ``node`` (Node's ``crypto``, no dependency): missing, its tests skip
locally and fail under ``CI=true``.  Both also run end to end: `benben serve` alone (the
embedded default) delivers a record's event to them, and they verify it.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from benben.testing_services import unavailable
from benben_webhooks import signing
from benben_webhooks.delivery import Claim, body_of

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "webhooks.md"
_FENCE = re.compile(r"^```(?P<lang>\w+)\n(?P<code>.*?)^```$", re.M | re.S)
EVENT = {
    "id": "812-40",
    "type": "record.created",
    "timestamp": "2026-12-07T10:00:00.123Z",
    "actor": "2b1f1c6e-8d2a-4a51-9a0c-3f1f0b8e7d11",
    "data": {"collection": "tasks", "id": "t-1", "last_modified": 1765101600123,
             "data": {"title": "Ünïcode ✓"}, "permissions": {}},
}  # fmt: skip


# -- Benben's signing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """What Benben posts: the body and the Standard Webhooks headers."""

    body: bytes
    headers: dict[str, str]

    def with_body(self, body: bytes) -> Delivery:
        return replace(self, body=body)

    def with_header(self, name: str, value: str) -> Delivery:
        return replace(self, headers={**self.headers, name: value})


def new_secret() -> str:
    return signing.new_secret()


def sign_delivery(secrets: list[str], message_id: str, timestamp: int, body: bytes) -> Delivery:
    """Signed as a worker signs an attempt: a claimed delivery's headers at ``timestamp``."""
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    claim = Claim(
        delivery_id="d", endpoint_id="e", url="https://hooks.example.org/benben",
        message_id=message_id, body=body, secrets=secrets, lease=moment, attempts=0,
    )  # fmt: skip
    return Delivery(body, claim.headers(moment))


def page_block(lang: str) -> str:
    """The page's one code block in ``lang``."""
    blocks = [m["code"] for m in _FENCE.finditer(PAGE.read_text("utf-8")) if m["lang"] == lang]
    assert len(blocks) == 1, f"docs/webhooks.md must hold one ```{lang} block, not {len(blocks)}"
    return blocks[0]


@pytest.fixture(scope="module")
def secrets() -> tuple[str, str]:
    return new_secret(), new_secret()


def cases(secrets: tuple[str, str]) -> list[tuple[str, Delivery, bool]]:
    """(name, delivery, whether the receiver holding ``secrets[0]`` must accept it)."""
    ours, other = secrets
    body = body_of(EVENT)
    now = int(time.time())
    return [
        ("signed", sign_delivery([ours], "msg_812-40", now, body), True),
        # A rotation's overlap: both secrets sign, either one verifies, in either order.
        ("rotating-old-first", sign_delivery([ours, other], "msg_2", now, body), True),
        ("rotating-new-first", sign_delivery([other, ours], "msg_3", now, body), True),
        ("other-secret", sign_delivery([other], "msg_4", now, body), False),
        ("tampered-body", sign_delivery([ours], "msg_5", now, body).with_body(body + b" "), False),
        ("changed-id", sign_delivery([ours], "msg_6", now, body).with_header("webhook-id", "m"),
         False),
        ("replayed-late", sign_delivery([ours], "msg_7", now - 600, body), False),
        ("from-the-future", sign_delivery([ours], "msg_8", now + 600, body), False),
        ("unsigned", sign_delivery([ours], "msg_9", now, body).with_header(
            "webhook-signature", ""), False),
    ]  # fmt: skip


# -- Python --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def python_receiver() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "receiver"}
    exec(compile(page_block("python"), f"{PAGE}:python", "exec"), namespace)  # noqa: S102 - the docs' own code
    return namespace


def test_python_snippet_accepts_exactly_what_benben_signed(python_receiver, secrets) -> None:
    verify = python_receiver["verify_webhook"]
    refused = python_receiver["WebhookVerificationError"]
    for name, delivery, accepted in cases(secrets):
        if accepted:
            assert verify(secrets[0], delivery.headers, delivery.body) == EVENT, name
        else:
            with pytest.raises(refused):
                verify(secrets[0], delivery.headers, delivery.body)


def test_python_snippet_runs_as_a_receiver(tmp_path: Path, secrets) -> None:
    script = tmp_path / "receiver.py"
    script.write_text(page_block("python"), encoding="utf-8")
    with receiver([sys.executable, str(script)], secrets[0]) as post:
        check_receiver(post, secrets)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["python", "javascript"])
def test_the_receivers_verify_what_benben_serve_delivers(
    request: pytest.FixtureRequest, tmp_path: Path, lang: str
) -> None:
    """End to end, on the embedded default: `benben serve` alone delivers a record's event to
    the page's receiver, which verifies it with the secret the API showed once."""
    interpreter = sys.executable if lang == "python" else request.getfixturevalue("node")
    from benben.testing_auth import DEFAULT_PASSWORD, FAST_PASSWORD_HASHING
    from cli.cli_support import Server, benben_command, clean_environ, free_port, run_benben

    for name in ("development.ini", "conf"):
        (tmp_path / name).symlink_to(ROOT / name)
    environ = clean_environ(
        **{f"BENBEN_{k[len('benben.') :].replace('.', '_').upper()}": v
           for k, v in FAST_PASSWORD_HASHING.items()},
        BENBEN_WEBHOOKS_ALLOWED_NETWORKS="127.0.0.0/8",
        ADMIN_PASSWORD=DEFAULT_PASSWORD,
    )  # fmt: skip
    created = run_benben("users", "create", "--admin", "admin", "--password-env",
                         "ADMIN_PASSWORD", cwd=tmp_path, env=environ)  # fmt: skip
    assert created.returncode == 0, created.stderr
    port = free_port()
    server = Server(benben_command("serve", "--port", str(port)), tmp_path, environ)
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        server.wait_ready(f"http://127.0.0.1:{port}/health/live")
        login = {"username": "admin", "password": DEFAULT_PASSWORD}
        token = _call("POST", f"{api}/auth/login", login)["access_token"]
        hook_port = _free_port()
        body = {"url": f"http://127.0.0.1:{hook_port}/hook", "event_types": ["record.created"]}
        webhook = _call("POST", f"{api}/webhooks", body, token)
        script = tmp_path / ("receiver.py" if lang == "python" else "receiver.js")
        script.write_text(page_block(lang), encoding="utf-8")
        hook = receiver([interpreter, str(script)], webhook["secret"], hook_port)
        with hook:
            _call("POST", f"{api}/collections", {"id": "tasks"}, token)
            _call("PUT", f"{api}/collections/tasks/records/t1", {"data": {"n": 1}}, token)
            log = f"{api}/webhooks/{webhook['id']}/deliveries"
            deadline = time.monotonic() + 30
            while not (deliveries := _call("GET", log, None, token)["data"]) or (
                deliveries[0]["status"] == "pending"
            ):
                assert time.monotonic() < deadline, f"not delivered:\n{server.logs()}"
                time.sleep(0.1)
        assert deliveries[0]["status"] == "succeeded", deliveries
        assert deliveries[0]["last_status_code"] == 204  # the receiver verified it
        assert hook.printed.startswith("record.created ")
        printed = json.loads(hook.printed.split(" ", 1)[1])
        assert (printed["collection"], printed["id"], printed["data"]) == ("tasks", "t1", {"n": 1})
    finally:
        server.stop()


def _call(method: str, url: str, body: Any, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, headers, method=method)  # noqa: S310 - http
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http only
        return json.loads(response.read() or b"null")


# -- JavaScript ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        unavailable("node is not installed (the JavaScript example of docs/webhooks.md)")
    return str(found)


def test_javascript_snippet_accepts_exactly_what_benben_signed(
    node: str, tmp_path: Path, secrets
) -> None:
    module = tmp_path / "receiver.js"
    module.write_text(page_block("javascript"), encoding="utf-8")
    runs = [
        {"name": name, "headers": d.headers, "body": d.body.hex(), "accepted": accepted}
        for name, d, accepted in cases(secrets)
    ]
    harness = tmp_path / "harness.js"
    harness.write_text(
        "const { verifyWebhook } = require(process.argv[2]);\n"
        "const [secret, runs] = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));\n"
        "for (const run of runs) {\n"
        "  let result;\n"
        "  try { result = { event: verifyWebhook(secret, run.headers, "
        "Buffer.from(run.body, 'hex')) }; }\n"
        "  catch (error) { result = { error: String(error.message) }; }\n"
        "  console.log(JSON.stringify({ name: run.name, ...result }));\n"
        "}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [node, str(harness), str(module)],
        input=json.dumps([secrets[0], runs]),
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    outcomes = {line["name"]: line for line in map(json.loads, result.stdout.splitlines())}
    assert set(outcomes) == {run["name"] for run in runs}
    for run in runs:
        outcome = outcomes[run["name"]]
        if run["accepted"]:
            assert outcome.get("event") == EVENT, outcome
        else:
            assert "error" in outcome, outcome


def test_javascript_snippet_runs_as_a_receiver(node: str, tmp_path: Path, secrets) -> None:
    script = tmp_path / "receiver.js"
    script.write_text(page_block("javascript"), encoding="utf-8")
    with receiver([node, str(script)], secrets[0]) as post:
        check_receiver(post, secrets)


# -- the receivers, as processes -----------------------------------------------------------------

Post = Callable[[Delivery], int]


def check_receiver(post: Post, secrets: tuple[str, str]) -> None:
    for name, delivery, accepted in cases(secrets):
        assert post(delivery) == (204 if accepted else 400), name


class receiver:  # noqa: N801 (a context manager used like a function)
    """``with receiver(command, secret) as post``: the snippet listening on a free port."""

    def __init__(self, command: list[str], secret: str, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.printed = ""
        environ = {**os.environ, "BENBEN_WEBHOOK_SECRET": secret, "PORT": str(self.port)}
        self.process = subprocess.Popen(
            command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )

    def __enter__(self) -> Post:
        deadline = time.monotonic() + 20
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"the receiver exited: {self.process.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the receiver did not listen within 20 s")
                time.sleep(0.05)
        return self.post

    def post(self, delivery: Delivery) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/webhooks/benben",
            data=delivery.body,
            headers={**delivery.headers, "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http only
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.printed = self.process.stdout.read().decode()  # what it printed, kept
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
