"""Throughput per core: Benben against a bare Pyramid JSON view, each served with one worker and
with two (issue #15), in the same run on the same machine.

Four servers, started as ``benben serve`` runs them (``serve_app.py``): the bare view and Benben,
each with ``--workers 1`` (waitress) and ``--workers 2`` (Gunicorn, waitress in each worker),
``--threads`` each
(2 by default); Benben on PostgreSQL + Redis with the rate limiter on (limits no run reaches)
and, with two workers, its metrics in a multiprocess directory as ``benben serve`` sets it up.
Each hot path (cached record GET, 100-record page, POST of a validated record; PATCH with
``--paths``) runs ``--rounds`` times, and in each round every server is driven by ``wrk`` (16
connections over loopback) right after the bare view with the same worker count, the order
alternating between rounds. Printed: median req/s, the median ratio to bare (targets: GET >= 0.45,
page >= 0.40, POST >= 0.25) and the median two-workers / one-worker ratio (target >= 1.4;
wrk shares the cores).

    python benchmarks/serving.py [--duration 5] [--rounds 3] [--paths get,page,post]
                                 [--threads 2] [--worker-class waitress|gthread]

``--worker-class gthread`` serves the two-worker servers with Gunicorn's own threaded worker
instead of waitress in each Gunicorn worker (what ``benben serve`` runs), to compare the two.

Needs ``wrk`` on PATH, PostgreSQL and Redis (``BENBEN_TEST_POSTGRESQL_URL``,
``BENBEN_TEST_REDIS_URL``). Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from wrk_support import (
    PATHS,
    WRK_CONNECTIONS,
    WRK_THREADS,
    benben_environment,
    free_port,
    login_and_seed,
    maintain,
    require_wrk,
    run_wrk,
    wait_until_up,
    wrk_script,
)

LAUNCHER = str(Path(__file__).with_name("serve_app.py"))
TARGETS = {"get": 0.45, "page": 0.40, "post": 0.25, "patch": 0.15}
SCALING_TARGET = 1.4
WORKER_COUNTS = (1, 2)


class Served:
    """One server process of ``serve_app.py``."""

    def __init__(
        self, app: str, workers: int, options: argparse.Namespace, env: dict[str, str]
    ) -> None:
        self.name = f"{app} x{workers}"
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        command = [sys.executable, LAUNCHER, app, str(port), f"--workers={workers}",
                   f"--threads={options.threads}",
                   f"--worker-class={options.worker_class}"]  # fmt: skip
        env = {**os.environ, **env}
        self._metrics: str | None = None
        if app == "benben" and workers > 1:
            # As benben serve sets it up: each worker's metrics in files one scrape sums.
            self._metrics = env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="metrics-")
        self.process = subprocess.Popen(command, env=env)
        wait_until_up(self.base + ("/bare" if app == "bare" else "/health/ready"), self.process)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._metrics is not None:
            shutil.rmtree(self._metrics, ignore_errors=True)


def measure(url: str, duration: int, script: str | None) -> dict[str, float]:
    return run_wrk(url, duration, script, threads=WRK_THREADS, connections=WRK_CONNECTIONS)


def run_path(
    key: str,
    bare: dict[int, Served],
    benben: dict[int, Served],
    token: str,
    env: dict[str, str],
    options: argparse.Namespace,
) -> dict[str, Any]:
    label, path, kind = PATHS[key]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(kind, token))
    runs: dict[int, list[dict[str, float]]] = {w: [] for w in WORKER_COUNTS}
    ratios: dict[int, list[float]] = {w: [] for w in WORKER_COUNTS}
    try:
        for workers in WORKER_COUNTS:  # warm-up: caches, connection pools
            measure(benben[workers].base + path, 2, script.name)
        for round_ in range(options.rounds):
            order = WORKER_COUNTS if round_ % 2 == 0 else WORKER_COUNTS[::-1]
            for workers in order:
                baseline = measure(bare[workers].base + "/bare", options.duration, None)
                run = measure(benben[workers].base + path, options.duration, script.name)
                runs[workers].append(run)
                ratios[workers].append(run["rps"] / baseline["rps"])
                maintain(env)
    finally:
        os.unlink(script.name)
    return {"key": key, "label": label, "runs": runs, "ratios": ratios}


def report(results: list[dict[str, Any]], bare_scaling: list[float]) -> None:
    print(f"\n{'path':<24} {'workers':>7} {'req/s':>8} {'p50 ms':>8} {'vs bare':>8} "
          f"{'(range)':>11} {'target':>7} {'non-2xx':>8}")  # fmt: skip
    for result in results:
        for workers in WORKER_COUNTS:
            runs, ratios = result["runs"][workers], result["ratios"][workers]
            rps = statistics.median(r["rps"] for r in runs)
            p50 = statistics.median(r["p50"] for r in runs)
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
            errors = sum(r["errors"] for r in runs)
            print(f"{result['label']:<24} {workers:>7} {rps:>8.0f} {p50:>8.2f} "
                  f"{statistics.median(ratios):>8.2f} {spread:>11} "
                  f">={TARGETS[result['key']]:<5} {errors:>8.0f}")  # fmt: skip
    print(f"\n{'two workers / one':<24} {'median':>8} {'(range)':>11} {'target':>7}")
    rows = [(r["label"], _scaling(r["runs"])) for r in results]
    rows.append(("bare Pyramid view", bare_scaling))
    for label, scaling in rows:
        spread = f"{min(scaling):.2f}-{max(scaling):.2f}"
        print(f"{label:<24} {statistics.median(scaling):>8.2f} {spread:>11} "
              f">={SCALING_TARGET}")  # fmt: skip


def _scaling(runs: dict[int, list[dict[str, float]]]) -> list[float]:
    """Per round: the two-worker server's req/s over the one-worker server's."""
    return [two["rps"] / one["rps"] for one, two in zip(runs[1], runs[2], strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each path and server")
    parser.add_argument("--paths", default="get,page,post", help=f"of {','.join(PATHS)}")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker")
    parser.add_argument("--worker-class", choices=("waitress", "gthread"), default="waitress")
    options = parser.parse_args()
    keys = [key for key in options.paths.split(",") if key]
    unknown = sorted(set(keys) - set(PATHS))
    if unknown:
        parser.error(f"unknown paths {unknown}; choose among {sorted(PATHS)}")
    require_wrk()
    servers: list[Served] = []
    with (
        tempfile.TemporaryDirectory() as data_dir,
        benben_environment("postgresql", data_dir) as env,
    ):
        try:
            prepare = [sys.executable, LAUNCHER, "benben", "--prepare"]
            subprocess.run(prepare, env={**os.environ, **env}, check=True)
            bare = {w: Served("bare", w, options, {}) for w in WORKER_COUNTS}
            benben = {w: Served("benben", w, options, env) for w in WORKER_COUNTS}
            servers += [*bare.values(), *benben.values()]
            token = login_and_seed(benben[1].base)
            results = [run_path(key, bare, benben, token, env, options) for key in keys]
            bare_scaling = []
            for _ in range(options.rounds):
                one = measure(bare[1].base + "/bare", options.duration, None)
                two = measure(bare[2].base + "/bare", options.duration, None)
                bare_scaling.append(two["rps"] / one["rps"])
        finally:
            for server in servers:
                server.close()
    report(results, bare_scaling)


if __name__ == "__main__":
    main()
