"""conf/nginx/benben.conf: accepted by `nginx -t` (Debian's nginx), and, run in front of stub
instances, it forwards what Benben needs, enforces the body limit and retries only what is safe."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from deploy_tools import NGINX_CONF, nginx_command, nginx_config, require, system_tool

from benben.core_settings import CORE_SETTINGS

CONF = NGINX_CONF


def nginx() -> Path:
    return system_tool("nginx", "nginx")


def nginx_test(prefix: Path, conf: str) -> subprocess.CompletedProcess:
    require(nginx)
    config = nginx_config(prefix, conf)
    return subprocess.run(
        nginx_command(prefix, config, "-t"), capture_output=True, text=True, timeout=30
    )


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    result = nginx_test(tmp_path, CONF.read_text())
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_nginx_test_would_refuse_a_broken_configuration(tmp_path: Path) -> None:
    broken = CONF.read_text().replace("least_conn;", "least_conn")
    assert nginx_test(tmp_path, broken).returncode == 1


def _files_max_size() -> int:
    from benben_files.settings import SETTINGS

    (setting,) = [s for s in SETTINGS if s.name == "benben.files.max_file_size"]
    return int(setting.default)


def test_body_limit_is_benbens_default() -> None:
    (setting,) = [s for s in CORE_SETTINGS if s.name == "benben.security.max_body_size"]
    limits = re.findall(r"^\s*client_max_body_size (\d+)m;", CONF.read_text(), re.MULTILINE)
    # The server's, then the attachments' location (benben.files.max_file_size + 1 MiB).
    assert [int(limit) * 1024 * 1024 for limit in limits] == [
        setting.default,
        _files_max_size() + 1024 * 1024,
    ]


def test_non_idempotent_requests_are_never_retried_by_configuration() -> None:
    text = CONF.read_text()
    (retry,) = re.findall(r"^\s*proxy_next_upstream (.*);", text, re.MULTILINE)
    assert retry.split() == ["error", "timeout"]
    assert "non_idempotent" not in re.sub(r"#.*", "", text)


# -- running it in front of stub instances -------------------------------------------------------


@dataclass
class Stub:
    """An instance that answers with what it received, or (broken) reads and hangs up."""

    broken: bool = False
    seen: list[dict] = field(default_factory=list)
    port: int = 0

    def handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub.seen.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers),
                     "version": self.request_version, "body_length": len(body)}
                )  # fmt: skip
                if stub.broken:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                data = json.dumps({"port": stub.port, "headers": dict(self.headers)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def do_PUT(self) -> None:
                self._serve()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def balancer(tmp_path: Path) -> Iterator[tuple[Callable[..., tuple[int, dict, str]], list[Stub]]]:
    require(nginx)
    stubs = [Stub(), Stub(), Stub(broken=True)]
    servers = []
    for stub in stubs:
        server = ThreadingHTTPServer(("127.0.0.1", 0), stub.handler())
        stub.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
        servers.append(server)
    shipped = re.findall(r"^\s*server 127\.0\.0\.1:\d+ (.*);$", CONF.read_text(), re.MULTILINE)
    assert shipped == ["max_fails=3 fail_timeout=10s"] * 3
    port = _free_port()
    config = nginx_config(
        tmp_path,
        instances=[f"127.0.0.1:{stub.port}" for stub in stubs],
        listen=f"127.0.0.1:{port}",
        run=True,
    )
    upstream = (tmp_path / "benben.conf").read_text()
    assert upstream.count("max_fails=3 fail_timeout=10s;") == 3
    assert re.findall(r"^\s*listen (.*);$", upstream, re.MULTILINE) == [f"127.0.0.1:{port}"]
    process = subprocess.Popen(
        nginx_command(tmp_path, config), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )

    def request(method: str, path: str, body: bytes | None = None, **headers: str):
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310 - http only
                text = response.read().decode()
                return response.status, json.loads(text) if text else {}, ""
        except urllib.error.HTTPError as error:
            with error:
                return error.code, {}, error.read().decode()

    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (tmp_path / "logs/error.log").read_text()
                    pytest.fail(f"nginx did not start: {log}")
                time.sleep(0.05)
        yield request, stubs
    finally:
        process.terminate()
        process.wait(timeout=10)
        for server in servers:
            server.shutdown()
            server.server_close()


def test_forwards_client_details_and_the_request_id(balancer) -> None:
    request, stubs = balancer
    status, echo, _ = request("GET", "/api/v1/", **{"X-Request-ID": "req-42", "Host": "b.example"})
    assert status == 200
    headers = {k.lower(): v for k, v in echo["headers"].items()}
    assert headers["x-request-id"] == "req-42"
    assert headers["host"] == "b.example"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == "b.example"
    # HTTP/1.1 without "Connection: close": connections to the instances are kept alive.
    assert "connection" not in headers
    (seen,) = [
        seen
        for stub in stubs
        for seen in stub.seen
        if {k.lower(): v for k, v in seen["headers"].items()}.get("x-request-id") == "req-42"
    ]
    assert seen["version"] == "HTTP/1.1"
    status, echo, _ = request("GET", "/api/v1/")
    generated = {k.lower(): v for k, v in echo["headers"].items()}["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)


def test_refuses_bodies_over_benbens_limit_before_any_instance_sees_them(balancer) -> None:
    request, stubs = balancer
    status, _, _ = request("PUT", "/api/v1/x", b"x" * (10 * 1024 * 1024 + 1))
    assert status == 413
    assert not any(seen["method"] == "PUT" for stub in stubs for seen in stub.seen)
    assert request("PUT", "/api/v1/x", b"x" * (1024 * 1024))[0] == 200


def test_reads_are_retried_on_another_instance_writes_never(balancer) -> None:
    request, (good_a, good_b, broken) = balancer
    for i in range(6):
        status, _, _ = request("GET", f"/api/v1/read-{i}")
        assert status == 200  # a hung-up instance never shows: the read goes to another
    retried = {s["path"] for s in broken.seen} & {s["path"] for s in good_a.seen + good_b.seen}
    assert retried  # the broken instance got some reads, which were answered elsewhere
    statuses = [request("POST", f"/api/v1/write-{i}", b"{}")[0] for i in range(6)]
    broken_writes = {s["path"] for s in broken.seen if s["method"] == "POST"}
    delivered = {s["path"] for s in good_a.seen + good_b.seen if s["method"] == "POST"}
    assert broken_writes  # some writes reached the broken instance...
    assert not broken_writes & delivered  # ...and were never sent a second time
    assert statuses.count(502) == len(broken_writes)


def test_metrics_are_not_served_through_the_balancer(balancer) -> None:
    request, stubs = balancer
    assert request("GET", "/metrics")[0] == 404
    assert not any(seen["path"] == "/metrics" for stub in stubs for seen in stub.seen)
