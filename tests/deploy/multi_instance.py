"""Several real Benben instances behind nginx, for tests/deploy/test_deploy_multi_instance.py.

Each instance is ``benben serve --ini production.ini`` in its own process, configured as in
production through ``BENBEN_*`` variables: one PostgreSQL schema and one Redis key prefix for them
all, a shared server secret and JWT secret. nginx runs conf/nginx/benben.conf with the instances
as its upstream servers. Everything made here is removed by :meth:`Cluster.close`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy_tools import ROOT, nginx_command, nginx_config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PRODUCTION_INI = ROOT / "production.ini"
START_TIMEOUT = 30.0  # seconds for a process to listen, or an instance to be ready
_LISTEN_LINE = re.compile(r"serving on http://127\.0\.0\.1:(\d+) ")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON, else the text


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """One HTTP request on its own connection; connection errors propagate."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    sent = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection(host, int(port), timeout=15)
    try:
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        raw = response.read().decode()
        received = {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()
    parsed: Any = raw
    if raw and "json" in received.get("content-type", ""):
        parsed = json.loads(raw)
    return Reply(response.status, received, parsed)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Instance:
    name: str
    process: subprocess.Popen[str]
    log_path: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def wait_listening(self) -> None:
        """Read the line ``benben serve`` prints once it listens (port 0: the port it got)."""
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout=START_TIMEOUT)
        line = self.process.stdout.readline() if ready else ""
        match = _LISTEN_LINE.search(line)
        if match is None:
            raise AssertionError(f"{self.name} did not start ({line!r}):\n{self.logs()}")
        self.port = int(match.group(1))

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        if self.process.stdout is not None:
            self.process.stdout.close()


@dataclass
class Cluster:
    """Instances, nginx in front of them, and what they share."""

    work: Path
    postgresql_url: str
    redis_url: str
    schema: str = field(default_factory=lambda: f"test_multi_{uuid.uuid4().hex[:12]}")
    prefix: str = field(default_factory=lambda: f"benben-test-multi-{uuid.uuid4().hex[:12]}:")
    instances: list[Instance] = field(default_factory=list)
    nginx: subprocess.Popen[bytes] | None = None
    nginx_port: int = 0
    users: dict[str, str] = field(default_factory=dict)  # username -> id, for the tests
    _schema_created: bool = False

    @property
    def nginx_url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    def database_url(self) -> str:
        url = make_url(self.postgresql_url)
        url = url.update_query_dict({"options": f"-csearch_path={self.schema}"})
        return url.render_as_string(hide_password=False)

    def create_schema(self) -> None:
        engine = create_engine(self.postgresql_url)
        try:
            with engine.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        finally:
            engine.dispose()
        self._schema_created = True

    def environ(self, settings: Mapping[str, str]) -> dict[str, str]:
        """The instances' environment: the caller's without any BENBEN_*, plus ``settings``
        (dotted names, as BENBEN_* variables)."""
        from benben.settings import env_name

        environ = {k: v for k, v in os.environ.items() if not k.startswith("BENBEN_")}
        environ.update({env_name(name): value for name, value in settings.items()})
        return environ

    def start(
        self, count: int, settings: Mapping[str, str], threads: int = 4, workers: int = 2
    ) -> None:
        """Launch ``count`` instances of ``workers`` processes each at once (see
        :meth:`wait_listening`): what is shared must hold across processes and instances."""
        script = Path(sys.executable).parent / "benben"
        command = [str(script)] if script.exists() else [sys.executable, "-m", "benben.cli"]
        command += ["serve", "--ini", str(PRODUCTION_INI), "--host", "127.0.0.1", "--port", "0",
                    "--threads", str(threads), "--workers", str(workers)]  # fmt: skip
        for number in range(1, count + 1):
            name = f"benben-{number}"
            log_path = self.work / f"{name}.log"
            with open(log_path, "w") as log:  # the child keeps its own descriptor
                process = subprocess.Popen(
                    command,
                    cwd=self.work,
                    env=self.environ({**settings, "benben.data_dir": str(self.work / name)}),
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                )
            self.instances.append(Instance(name, process, log_path))

    def wait_listening(self) -> None:
        """Until each instance listens (and so knows its port); not necessarily ready."""
        for instance in self.instances:
            instance.wait_listening()

    def wait_ready(self) -> None:
        """Until every instance answers /health/ready with 200."""
        deadline = time.monotonic() + START_TIMEOUT
        pending = list(self.instances)
        while pending:
            instance = pending[0]
            if instance.process.poll() is not None:
                raise AssertionError(f"{instance.name} exited:\n{instance.logs()}")
            try:
                ready = call(instance.url, "GET", "/health/ready").status == 200
            except OSError:
                ready = False
            if ready:
                pending.pop(0)
            elif time.monotonic() > deadline:
                raise AssertionError(f"{instance.name} never got ready:\n{instance.logs()}")
            else:
                time.sleep(0.05)

    def start_nginx(self) -> None:
        prefix = self.work / "nginx"
        self.nginx_port = free_port()
        config = nginx_config(
            prefix,
            instances=[f"127.0.0.1:{instance.port}" for instance in self.instances],
            listen=f"127.0.0.1:{self.nginx_port}",
            run=True,
        )
        self.nginx = subprocess.Popen(
            nginx_command(prefix, config), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.nginx_port), timeout=1).close()
                return
            except OSError:
                if self.nginx.poll() is not None or time.monotonic() > deadline:
                    error_log = prefix / "logs" / "error.log"
                    raise AssertionError(f"nginx did not start:\n{error_log.read_text()}") from None
                time.sleep(0.05)

    def close(self) -> None:
        """Stop every process, drop the schema, delete the Redis keys; each step runs even if
        an earlier one failed."""
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(self._delete_redis_keys)
            if self._schema_created:
                cleanup.callback(self._drop_schema)
            for instance in self.instances:
                cleanup.callback(instance.stop)
            if self.nginx is not None:
                cleanup.callback(self._stop_nginx)

    def _stop_nginx(self) -> None:
        assert self.nginx is not None
        if self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(timeout=15)

    def _drop_schema(self) -> None:
        engine = create_engine(self.postgresql_url)
        try:
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        finally:
            engine.dispose()

    def _delete_redis_keys(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        with contextlib.closing(client):
            keys = list(client.scan_iter(match=self.prefix + "*", count=1000))
            if keys:
                client.delete(*keys)


def new_secret() -> str:
    return secrets.token_urlsafe(64)


def counter(metrics_text: str, name: str, **labels: str) -> float:
    """The value of one sample of a Prometheus text exposition (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0
