"""Helpers for the CLI tests: the real ``benben`` process, throwaway plugins, PostgreSQL schemas."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from benben.testing_auth import FAST_PASSWORD_HASHING

REPO = Path(__file__).resolve().parents[2]
# Cheap argon2 for commands and servers in their own processes: the settings as BENBEN_* names.
FAST_HASHING = {
    "BENBEN_" + name.removeprefix("benben.").replace(".", "_").upper(): value
    for name, value in FAST_PASSWORD_HASHING.items()
}
BIN = Path(sys.executable).parent
START_TIMEOUT = 30.0  # seconds a server gets to start; generous for loaded CI machines


def benben_command(*args: str) -> list[str]:
    """The installed console script (what users run), else the module."""
    script = BIN / "benben"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "benben.cli", *args]


def clean_environ(**overrides: str) -> dict[str, str]:
    """The environment without any BENBEN_* variable of the caller, plus ``overrides``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BENBEN_")}
    environ.update(overrides)
    return environ


def run_benben(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        benben_command(*args),
        cwd=cwd,
        env=dict(env) if env is not None else clean_environ(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=preexec_fn,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server process; stderr (the logs) goes to a file so that it can never block."""

    def __init__(
        self,
        command: list[str],
        cwd: Path,
        env: Mapping[str, str],
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.log_path = cwd / f"server-{uuid.uuid4().hex[:8]}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            preexec_fn=preexec_fn,
        )

    def listen_line(self) -> str:
        """The first line on stdout (benben serve prints where it listens)."""
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=START_TIMEOUT):
                raise AssertionError(f"no output from the server; logs:\n{self.logs()}")
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(
                f"server exited ({self.process.wait(5)}) before listening:\n{self.logs()}"
            )
        return line

    def wait_ready(self, url: str) -> tuple[int, bytes]:
        """Poll ``url`` until the server answers; returns its status and body."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited ({self.process.returncode}):\n{self.logs()}")
            try:
                return get(url)
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise AssertionError(f"{url} never answered:\n{self.logs()}") from None
                time.sleep(0.02)  # a server answers within a few ms of listening

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()
        return self.process.returncode

    def logs(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()


def get(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310 - http only
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def port_of(listen_line: str) -> int:
    """``benben: serving on http://127.0.0.1:41234 (...)`` -> 41234."""
    url = listen_line.split("serving on ", 1)[1].split()[0].rstrip(",")
    return int(url.rsplit(":", 1)[1])


def json_lines(text_: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text_.splitlines() if line.strip()]


@contextlib.contextmanager
def redis_keys_deleted(url: str, prefix: str) -> Iterator[None]:
    """Delete the keys under ``prefix`` afterwards (other tests share this Redis server)."""
    import redis

    try:
        yield
    finally:
        client = redis.Redis.from_url(url)
        with contextlib.closing(client):
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            if keys:
                client.delete(*keys)


def write_plugin(
    site: Path,
    name: str,
    *,
    migration: bool = False,
    requires: tuple[str, ...] = (),
    entry_point: str | None = None,
    fail_include: bool = False,
) -> str:
    """An installed-looking plugin in ``site`` (a package + a .dist-info with its entry point).

    With ``migration``, it owns one Alembic revision creating table ``<name>_things``.
    Returns the revision id (or "").  ``entry_point`` overrides the target (e.g. a missing module);
    ``fail_include`` makes its ``includeme`` raise.
    """
    package = site / name
    package.mkdir(parents=True)
    revision = uuid.uuid4().hex[:12] if migration else ""
    include_migrations = f'    config.add_migrations("{name}:versions")\n' if migration else ""
    if fail_include:
        include_migrations += '    raise RuntimeError("boom")\n'
    (package / "__init__.py").write_text(
        textwrap.dedent(
            f'''\
            from benben.plugin import PluginMetadata, Setting

            benben_plugin = PluginMetadata(
                api=1,
                requires={requires!r},
                settings=(Setting("benben.{name}.greeting", default="hello"),),
                description="CLI test plugin {name}",
            )


            def hello(request):
                return {{"plugin": "{name}"}}


            def includeme(config):
                config.add_route("{name}_hello", "/hello")
                config.add_view(hello, route_name="{name}_hello", renderer="json")
            '''
        )
        + include_migrations
    )
    if migration:
        versions = package / "versions"
        versions.mkdir()
        (versions / f"{revision}_things.py").write_text(
            textwrap.dedent(
                f'''\
                import sqlalchemy as sa
                from alembic import op

                revision = "{revision}"
                down_revision = None
                branch_labels = None
                depends_on = None


                def upgrade():
                    op.create_table("{name}_things", sa.Column("id", sa.Integer, primary_key=True))


                def downgrade():
                    op.drop_table("{name}_things")
                '''
            )
        )
    dist_info = site / f"{name}-1.2.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.0\n")
    (dist_info / "entry_points.txt").write_text(
        f"[benben.plugins]\n{name} = {entry_point or name}\n"
    )
    return revision


def unique_name(prefix: str = "clip") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def with_pythonpath(environ: dict[str, str], site: Path) -> dict[str, str]:
    existing = environ.get("PYTHONPATH")
    environ["PYTHONPATH"] = f"{site}{os.pathsep}{existing}" if existing else str(site)
    return environ
