"""The JavaScript client's own tests (``clients/js/test/``, Node's test runner) against a live
``benben serve``: a real process on a free port, on the embedded default, in a scratch directory,
with its first administrator made from ``BENBEN_ADMIN_PASSWORD``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from benben.testing_auth import DEFAULT_PASSWORD
from benben.testing_services import unavailable
from cli.cli_support import FAST_HASHING, Server, benben_command, clean_environ, free_port

pytestmark = pytest.mark.slow

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "js"
NODE_TIMEOUT = 120  # seconds; the suite takes about 20


def test_node_suite_passes_against_a_live_server(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        unavailable("node (20+), for the JavaScript client's tests")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environ = clean_environ(
        **FAST_HASHING,
        BENBEN_DATA_DIR=str(tmp_path / "var"),
        BENBEN_ADMIN_PASSWORD=DEFAULT_PASSWORD,
        # The suite logs in and refreshes a few dozen times within seconds: above the default
        # 30 a minute of the auth group, which is not what it tests.
        BENBEN_RATELIMIT_GROUPS="auth=1000/minute,write=3000/minute",
        # Change streams end (max-duration) every 2 s: the realtime tests resume across them.
        BENBEN_REALTIME_MAX_STREAM_SECONDS="2",
    )
    server = Server(benben_command("serve", "--port", str(port)), tmp_path, environ)
    try:
        server.wait_ready(f"{url}/health/ready")
        result = subprocess.run(
            [node, "--test", "test/"],
            cwd=CLIENT,
            env={
                **clean_environ(),
                "BENBEN_URL": url,
                "BENBEN_USERNAME": "admin",
                "BENBEN_PASSWORD": DEFAULT_PASSWORD,
            },
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT,
            check=False,
        )
    finally:
        server.stop()
    if result.returncode != 0:
        pytest.fail(
            f"node --test exited with {result.returncode}\n--- stdout\n{result.stdout[-8000:]}"
            f"\n--- stderr\n{result.stderr[-3000:]}\n--- server log\n{server.logs()[-3000:]}",
            pytrace=False,
        )
    assert "# fail 0" in result.stdout
