"""Realtime across instances: how long a change committed on one instance takes to reach a
subscriber of another (issue #19: p99 under 100 ms on loopback).

Two ``benben serve`` instances (waitress, one process each) share one PostgreSQL schema and one
Redis prefix, as production instances do behind a load balancer. A subscriber streams
``GET /api/v1/collections/bench/changes`` from instance B, another from instance A (the baseline:
the same delivery without crossing instances); a writer POSTs records to instance A one after the
other, at ``--rate`` per second. Each event is timed on arrival against the moment the writer got
its POST's response (the change committed then): p50, p95, p99 and max, for both subscribers,
and the ratio of B's p99 to A's.

``python benchmarks/realtime_latency.py [--changes 500] [--rate 50] [--backend postgresql|sqlite]``
(``sqlite``: one instance only, the embedded default's in-process path).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wrk_support import (
    PASSWORD,
    benben_environment,
    call,
    free_port,
    wait_until_up,
)

from benben.testing_streams import open_sse

BENBEN = str(Path(sys.executable).with_name("benben"))


class Instance:
    """``benben serve`` in a subprocess (one process, 4 threads)."""

    def __init__(self, env: dict[str, str], workdir: Path, name: str) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.log = (workdir / f"{name}.log").open("wb")
        environ = {k: v for k, v in os.environ.items() if not k.startswith("BENBEN_")}
        environ |= env | {"XDG_STATE_HOME": str(workdir / "state")}
        command = [BENBEN, "serve", "--workers", "1", "--threads", "4", "--port", str(port)]
        self.process = subprocess.Popen(
            command, env=environ, cwd=workdir, stdout=self.log, stderr=subprocess.STDOUT
        )
        wait_until_up(self.base + "/health/ready", self.process)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Subscriber(threading.Thread):
    """Reads a stream, noting when each change arrives (by the record's ``n``)."""

    def __init__(self, url: str, token: str, expected: int) -> None:
        super().__init__(daemon=True)
        self.client = open_sse(url, {"Authorization": f"Bearer {token}"}, timeout=10)
        if self.client.status != 200:
            raise SystemExit(f"{url} answered {self.client.status}")
        ready = self.client.next_event(10)
        assert ready["event"] == "ready", ready
        self.expected = expected
        self.arrivals: dict[int, float] = {}

    def run(self) -> None:
        while len(self.arrivals) < self.expected:
            try:
                event = self.client.next_event(30)
            except (TimeoutError, EOFError):
                return
            if event["event"] is None:
                change = json.loads(event["data"])
                if change["type"] == "record.created":
                    self.arrivals[change["data"]["data"]["n"]] = time.perf_counter()

    def close(self) -> None:
        self.client.close()


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    return {
        "p50": statistics.median(ordered),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": ordered[-1],
    }


def run(options: argparse.Namespace, workdir: Path) -> dict[str, dict[str, float]]:
    with benben_environment(options.backend, str(workdir / "data")) as env:
        env = {**env, "BENBEN_LOGGING_LEVEL": "warning"}
        environ = {k: v for k, v in os.environ.items() if not k.startswith("BENBEN_")}
        subprocess.run(  # PostgreSQL is not migrated by `benben serve`: as a deploy does
            [BENBEN, "migrate"], env=environ | env, cwd=workdir, check=True, capture_output=True
        )
        instances = [Instance(env, workdir, "a")]
        if options.backend == "postgresql":
            instances.append(Instance(env, workdir, "b"))
        try:
            return measure(options, instances)
        finally:
            for instance in instances:
                instance.close()


def measure(options: argparse.Namespace, instances: list[Instance]) -> dict[str, dict[str, float]]:
    writer = instances[0]
    login = call(
        writer.base, "POST", "/api/v1/auth/login", {"username": "admin", "password": PASSWORD}
    )
    token = login["access_token"]
    call(writer.base, "PUT", "/api/v1/collections/bench", {}, token)
    subscribers = {
        ("same instance" if index == 0 else "other instance"): Subscriber(
            f"{instance.base}/api/v1/collections/bench/changes", token, options.changes
        )
        for index, instance in enumerate(instances)
    }
    for subscriber in subscribers.values():
        subscriber.start()
    committed: dict[int, float] = {}
    interval = 1.0 / options.rate
    next_at = time.perf_counter()
    for n in range(options.changes):
        call(writer.base, "POST", "/api/v1/collections/bench/records", {"data": {"n": n}}, token)
        committed[n] = time.perf_counter()
        next_at += interval
        time.sleep(max(0.0, next_at - time.perf_counter()))
    results: dict[str, dict[str, float]] = {}
    for name, subscriber in subscribers.items():
        subscriber.join(timeout=30)
        subscriber.close()
        lost = options.changes - len(subscriber.arrivals)
        samples = [(subscriber.arrivals[n] - committed[n]) * 1000 for n in subscriber.arrivals]
        figures = percentiles(samples) if samples else {}
        figures["lost"] = float(lost)
        results[name] = figures
    return results


def report(results: dict[str, dict[str, float]], options: argparse.Namespace) -> None:
    print(
        f"realtime delivery latency, {options.backend}, {options.changes} changes at "
        f"{options.rate}/s, from the POST's response to the event's arrival (ms)"
    )
    for name, figures in results.items():
        shown = "  ".join(
            f"{key} {figures[key]:7.2f}" for key in ("p50", "p95", "p99", "max") if key in figures
        )
        print(f"  {name:15s} {shown}  lost {int(figures['lost'])}")
    if "other instance" in results and results["same instance"].get("p99"):
        ratio = results["other instance"]["p99"] / results["same instance"]["p99"]
        print(f"  other/same instance p99 ratio: {ratio:.2f} (target: other instance p99 < 100 ms)")


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--workdir", help="where the servers run (a new temporary directory)")
    options = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="realtime-", dir=options.workdir))
    try:
        results = run(options, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(results, options)
    return results


if __name__ == "__main__":
    main()
