"""What Benben's core costs per request, against a bare Pyramid JSON view in the same run.

Starts each app under waitress (one process, ``threads=4``) on loopback, drives it with ``wrk``
(``-t1 -c16``) and prints req/s, p50 and p99 latency and the ratio to the bare baseline.

    python benchmarks/core_overhead.py [--duration 10] [--database sqlite|postgresql]

Needs ``wrk`` (Debian package) on PATH.  Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from wrk_support import run_wrk

BARE_APP = textwrap.dedent(
    """
    from pyramid.config import Configurator
    import waitress, sys

    def view(request):
        return {"status": "ok"}

    with Configurator() as config:
        config.add_route("bare", "/bare")
        config.add_view(view, route_name="bare", renderer="json")
        app = config.make_wsgi_app()
    waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=4, _quiet=True)
    """
)

BENBEN_APP = textwrap.dedent(
    """
    import logging, sys, waitress
    from benben.config import make_wsgi_app

    settings = {"benben.data_dir": sys.argv[2], "benben.logging.level": "warning"}
    if sys.argv[3]:
        settings["benben.database.url"] = sys.argv[3]
    app = make_wsgi_app(settings, setup_logging=True)
    logging.getLogger("benben.access").setLevel(logging.WARNING)
    waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=4, _quiet=True)
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not come up")


def measure(name: str, script: str, args: list[str], path: str, duration: int) -> dict:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", script, str(port), *args])
    try:
        url = f"http://127.0.0.1:{port}{path}"
        wait_until_up(url)
        run_wrk(url, 2)  # warm-up
        result = run_wrk(url, duration)
    finally:
        process.terminate()
        process.wait(timeout=10)
    result["name"] = name
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    database_url = (
        os.environ.get("BENBEN_TEST_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/test")
        if options.database == "postgresql"
        else ""
    )
    with tempfile.TemporaryDirectory() as data_dir:
        benben_args = [data_dir, database_url]
        results = [
            measure("bare Pyramid JSON view", BARE_APP, [], "/bare", options.duration),
            measure(
                "benben GET /health/live", BENBEN_APP, benben_args, "/health/live", options.duration
            ),
            measure("benben GET /api/v1/", BENBEN_APP, benben_args, "/api/v1/", options.duration),
        ]
    baseline = results[0]["rps"]
    print(f"\n{'what':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'non-2xx':>8}")
    for r in results:
        print(
            f"{r['name']:<28} {r['rps']:>8.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
            f"{r['rps'] / baseline:>6.2f} {r['errors']:>8.0f}"
        )


if __name__ == "__main__":
    main()
