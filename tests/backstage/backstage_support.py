"""Helpers of the Backstage tests: a scripted stand-in for Backstage's catalog API,
installed-looking plugins, Backstage's own entity validation (Node), and its ``$text``
placeholders."""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benben.testing import unavailable

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = Path(__file__).resolve().parent / "node"
MODULES_DIR = ROOT / ".cache" / "backstage-catalog-model"  # git-ignored
TOKEN = "backstage-test-token-0123456789"


# -- a scripted Backstage catalog API ---------------------------------------------------------


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


Answer = tuple[int, Any]  # status, JSON body (None: empty; bytes: sent as they are)


@dataclass
class FakeBackstage:
    """Records every call; ``answer(call)`` decides the response (default: 201 {})."""

    url: str
    calls: list[Call] = field(default_factory=list)
    answer: Callable[[Call], Answer] = lambda call: (201, {})


@contextmanager
def fake_backstage() -> Iterator[FakeBackstage]:
    fake = FakeBackstage(url="")

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            call = Call(self.command, self.path, dict(self.headers.items()), None)
            call.body = json.loads(raw) if raw else None
            fake.calls.append(call)
            status, body = fake.answer(call)
            if isinstance(body, bytes):  # raw, e.g. a page that is not Backstage's
                data = body
            else:
                data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def backstage_error(status: int, name: str, message: str) -> Answer:
    """An error as Backstage's backend writes them."""
    return status, {
        "error": {"name": name, "message": message},
        "request": {"method": "POST", "url": "/locations"},
        "response": {"statusCode": status},
    }


# -- plugins that look installed --------------------------------------------------------------


def write_plugin(
    site: Path,
    name: str,
    version: str,
    *,
    requires: tuple[str, ...] = (),
    description: str = "",
) -> None:
    """A plugin package and its ``.dist-info`` (with the ``benben.plugins`` entry point).

    The package's name is unique: a module another test imported under the same name would
    otherwise be reused from ``sys.modules``."""
    module = f"bbtest_{name}_{uuid.uuid4().hex[:8]}"
    package = site / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        textwrap.dedent(
            f"""\
            from benben.plugin import PluginMetadata

            benben_plugin = PluginMetadata(
                api=1, requires={requires!r}, description={description!r}
            )


            def includeme(config):
                pass
            """
        ),
        encoding="utf-8",
    )
    dist = f"bbtest-{name.replace('_', '-')}"
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[benben.plugins]\n{name} = {module}\n", encoding="utf-8"
    )


def plugin_entry_points() -> list[Any]:
    """Every installed ``benben.plugins`` entry point, those on a prepended ``sys.path`` site
    included (``monkeypatch.syspath_prepend(site)`` first)."""
    import importlib
    import importlib.metadata

    importlib.invalidate_caches()
    return list(importlib.metadata.entry_points(group="benben.plugins"))


# -- Backstage's own validation ----------------------------------------------------------------


def install_catalog_model() -> Path:
    """``npm ci`` of tests/backstage/node into .cache/ once (again when the lock file changes)."""
    if not shutil.which("node") or not shutil.which("npm"):
        unavailable("node and npm are needed to run Backstage's @backstage/catalog-model")
    lock = (NODE_DIR / "package-lock.json").read_bytes()
    stamp = MODULES_DIR / ".installed-lock-sha256"
    digest = hashlib.sha256(lock).hexdigest()
    model = MODULES_DIR / "node_modules" / "@backstage" / "catalog-model" / "package.json"
    if model.exists() and stamp.exists() and stamp.read_text() == digest:
        return MODULES_DIR
    MODULES_DIR.mkdir(parents=True, exist_ok=True)
    # Test processes running side by side (pytest-xdist) install it once, one after the other.
    with (MODULES_DIR.parent / ".catalog-model.lock").open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        if model.exists() and stamp.exists() and stamp.read_text() == digest:
            return MODULES_DIR
        return _npm_ci(digest, stamp)


def _npm_ci(digest: str, stamp: Path) -> Path:
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(NODE_DIR / name, MODULES_DIR / name)
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=MODULES_DIR, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        unavailable(f"npm ci of @backstage/catalog-model failed: {result.stderr.strip()[-500:]}")
    stamp.write_text(digest)
    return MODULES_DIR


def validate_entities(modules: Path, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Backstage's verdict on each entity: ``{"ref", "ok", "errors"}``."""
    result = subprocess.run(
        ["node", str(NODE_DIR / "validate_entities.mjs"), str(modules)],
        input=json.dumps(entities), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode in {0, 1}, result.stderr
    verdicts = json.loads(result.stdout)
    assert len(verdicts) == len(entities)
    return verdicts


def resolve_placeholders(value: Any, base: Path) -> Any:
    """What Backstage's placeholder processor does with ``$text`` (and ``$json``) on a file."""
    if isinstance(value, dict):
        if set(value) == {"$text"}:
            return (base / value["$text"]).read_text(encoding="utf-8")
        if set(value) == {"$json"}:
            return json.loads((base / value["$json"]).read_text(encoding="utf-8"))
        return {key: resolve_placeholders(item, base) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_placeholders(item, base) for item in value]
    return value
