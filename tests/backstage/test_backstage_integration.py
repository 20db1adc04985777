"""Against the real thing: a Backstage catalog backend (../shared/backstage/start.sh), a real
``benben serve`` with the Backstage plugin and two more plugins, and ``benben backstage``
commands run as an operator runs them.  Backstage's REST API is the judge.

The backend's first start installs its node_modules (minutes); .ci/run starts it before the
tests, so here it is already running.  The module stops it, by its PID, when done.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from backstage_support import ROOT, unavailable, write_plugin

pytestmark = pytest.mark.slow

START = ROOT.parent / "shared" / "backstage" / "start.sh"
BIN = Path(sys.executable).parent
WAIT = 40.0  # seconds for Backstage to process a location, or Benben to start


@dataclass(frozen=True)
class Backstage:
    url: str
    token: str
    pid: int

    def get(self, path: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        request = urllib.request.Request(self.url + path, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, None

    def entity(self, ref: str) -> dict[str, Any] | None:
        kind, _, rest = ref.partition(":")
        status, body = self.get(f"/api/catalog/entities/by-name/{kind}/{rest}")
        return body if status == 200 else None

    def wait_for(self, *refs: str) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + WAIT
        found: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            found = {ref: e for ref in refs if (e := self.entity(ref)) is not None}
            if len(found) == len(refs):
                return found
            time.sleep(0.3)
        missing = sorted(set(refs) - set(found))
        _, pending = self.get("/api/catalog/entities/unprocessed/pending")
        pytest.fail(f"not in Backstage's catalog after {WAIT}s: {missing}; pending: {pending}")

    def locations_for(self, target: str) -> list[dict[str, Any]]:
        _, items = self.get("/api/catalog/locations")
        locations = [item.get("data", item) for item in items or []]
        return [location for location in locations if location.get("target") == target]


@pytest.fixture(scope="module")
def backstage() -> Iterator[Backstage]:
    if not START.exists():
        unavailable(f"{START} is missing (the shared Backstage test backend)")
    result = subprocess.run(
        ["bash", str(START)], capture_output=True, text=True, timeout=1200, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"{START} failed:\n{result.stderr[-3000:]}", pytrace=False)
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    started = Backstage(
        values["BACKSTAGE_BASE_URL"], values["BACKSTAGE_TOKEN"], int(values["BACKSTAGE_PID"])
    )
    try:
        yield started
    finally:
        _stop(started.pid)


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Instance:
    url: str
    name: str
    environ: dict[str, str]
    workdir: Path

    @property
    def target(self) -> str:
        return f"{self.url}/backstage/catalog-info.yaml"

    def benben(self, *args: str, **environ: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "benben"), *args],
            cwd=self.workdir, env={**self.environ, **environ},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip


@pytest.fixture(scope="module")
def instance(backstage: Backstage, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    """``benben serve`` on a free loopback port: embedded SQLite, the Backstage plugin and two
    more plugins (notes requires tags), public URL = that port."""
    workdir = tmp_path_factory.mktemp("instance")
    site = workdir / "site"
    write_plugin(site, "tags", "1.4.0", description="Tags on records.")
    write_plugin(site, "notes", "2.0.0+local", requires=("tags>=1",))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BENBEN_")}
    environ.update(
        PYTHONPATH=str(site),
        BENBEN_DATA_DIR=str(workdir / "var"),
        BENBEN_PUBLIC_URL=url,
        BENBEN_BACKSTAGE_URL=backstage.url,
        BENBEN_BACKSTAGE_TOKEN=backstage.token,
        # benben serve records its data directory per user: keep it out of the real one.
        XDG_STATE_HOME=str(workdir / "state"),
    )
    log = (workdir / "serve.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "benben"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir, env=environ, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_until_serving(f"{url}/health/live", server, workdir / "serve.log")
        yield Instance(url, f"benben-127-0-0-1-{port}", environ, workdir)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _wait_until_serving(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"benben serve exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback http
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    pytest.fail(f"benben serve did not answer within {WAIT}s: {log.read_text()[-3000:]}")


def _location_id(stdout: str) -> str:
    match = re.search(r"\(location ([^)]+)\)", stdout)
    assert match, stdout
    return match.group(1)


def relations(entity: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r["type"], r["targetRef"]) for r in entity["relations"]}


def test_register_puts_the_instance_its_api_and_plugins_in_the_catalog(
    backstage: Backstage, instance: Instance
) -> None:
    result = instance.benben("backstage", "register")
    assert result.returncode == 0, result.stderr
    name = instance.name
    component, api = f"component:default/{name}", f"api:default/{name}-api"
    plugins = [f"component:default/{name}-{plugin}" for plugin in ("backstage", "notes", "tags")]
    found = backstage.wait_for(component, api, *plugins)

    assert {
        ("providesApi", api),
        ("partOf", "system:default/benben"),
        ("ownedBy", "group:default/benben-operators"),
        *(("hasPart", plugin) for plugin in plugins),
    } <= relations(found[component])
    assert found[component]["spec"]["type"] == "service"
    assert found[component]["metadata"]["annotations"]["backstage.io/managed-by-location"] == (
        f"url:{instance.target}"
    )
    assert ("apiProvidedBy", component) in relations(found[api])
    definition = json.loads(found[api]["spec"]["definition"])
    assert definition["servers"] == [{"url": instance.url}]
    assert "/backstage/catalog-info.yaml" in definition["paths"]
    for plugin in plugins:  # subcomponentOf becomes partOf the instance
        assert ("partOf", component) in relations(found[plugin])
    notes = found[f"component:default/{name}-notes"]
    assert notes["metadata"]["annotations"]["benben.io/version"] == "2.0.0+local"
    assert ("dependsOn", f"component:default/{name}-tags") in relations(notes)


def test_registering_again_refreshes_the_same_location(
    backstage: Backstage, instance: Instance
) -> None:
    first = backstage.locations_for(instance.target)
    assert len(first) == 1
    result = instance.benben("backstage", "register")
    assert result.returncode == 0, result.stderr
    assert _location_id(result.stdout) == first[0]["id"]
    assert backstage.locations_for(instance.target) == first


def test_an_invalid_name_is_refused_with_backstages_message(
    backstage: Backstage, instance: Instance
) -> None:
    # Benben refuses such a name at start-up, by Backstage's rule...
    refused = instance.benben("backstage", "register", BENBEN_BACKSTAGE_NAME="bad name!")
    assert refused.returncode == 2
    assert "for setting benben.backstage.name" in refused.stderr
    # ...and Backstage refuses it too: an instance serving it (a stand-in with this instance's
    # entities, renamed) is refused with Backstage's own message, which the command shows.
    with urllib.request.urlopen(instance.target, timeout=10) as response:  # noqa: S310
        documents = list(yaml.safe_load_all(response.read()))
    documents[0]["metadata"]["name"] = "bad name!"
    with _serving(yaml.safe_dump_all(documents, explicit_start=True)) as url:
        result = instance.benben("backstage", "register", "--dry-run", BENBEN_PUBLIC_URL=url)
    assert result.returncode == 1
    error = result.stderr.strip()
    assert error.startswith(f"benben: error: Backstage refused {url}/backstage/catalog-info.yaml")
    assert '"metadata.name" is not valid' in error
    assert '"bad name!"' in error
    assert backstage.locations_for(f"{url}/backstage/catalog-info.yaml") == []  # dry run


def test_hosts_backstage_may_not_read_and_wrong_tokens_are_explained(
    backstage: Backstage, instance: Instance
) -> None:
    outside = instance.benben(
        "backstage", "register", "--dry-run", BENBEN_PUBLIC_URL="http://benben.invalid:8080"
    )
    assert outside.returncode == 1
    assert "(400): " in outside.stderr
    assert "Reading from 'http://benben.invalid:8080/backstage/catalog-info.yaml' is not " in (
        outside.stderr
    )
    wrong = instance.benben("backstage", "register", BENBEN_BACKSTAGE_TOKEN="not-the-token")
    assert wrong.returncode == 1
    assert "refused the credentials (401 Unauthorized" in wrong.stderr


def test_unregister_removes_them(backstage: Backstage, instance: Instance) -> None:
    result = instance.benben("backstage", "unregister")
    assert result.returncode == 0, result.stderr
    assert backstage.locations_for(instance.target) == []
    for ref in (f"component:default/{instance.name}", f"api:default/{instance.name}-api"):
        assert backstage.entity(ref) is None, ref
    again = instance.benben("backstage", "unregister")
    assert again.returncode == 0
    assert again.stdout.endswith(": nothing to do\n")


class _StaticHandler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/yaml")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Serving:
    def __init__(self, text: str) -> None:
        handler = type("Handler", (_StaticHandler,), {"body": text.encode()})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _serving(text: str) -> _Serving:
    """A loopback server answering every GET with ``text``."""
    return _Serving(text)
