"""CPU per request of the data API's hot paths, in process: what one request costs this
process, whatever the server around it, and the round trips it makes.

A bare Pyramid JSON view and Benben (PostgreSQL + Redis, or SQLite with ``--backend sqlite``)
are driven through webtest, in this process: GET of one record, GET of a 100-record page, POST
of a schema-validated record, PATCH and PUT with ``If-Match``, DELETE (a fresh record each
request).  For each path, in rounds, the bare view is measured right before it (the machine's
speed drifts over minutes); printed are the medians of the rounds: process CPU µs/request (every
thread: the cache's listener threads count), wall µs/request, the SQL statements, transactions
(psycopg sends each one's BEGIN as a round trip of its own; on SQLite the BEGIN is counted among
the statements) and Redis round trips per request, and
``ratio``, the bare view's CPU over the path's: the throughput one core could reach against the
bare view's, the figure issue #15's targets are written in (POST >= 0.25, PATCH/PUT/DELETE >=
0.15).  webtest skips the HTTP server, so these ratios are above those ``serving.py`` measures.

    python benchmarks/request_cpu.py [--backend postgresql|sqlite] [--requests 2000]
        [--rounds 3] [--paths get,page,post,patch,put,delete] [--ratelimit on|off]
        [--profile PATH [--sort cumulative]]

``--profile PATH``: after the measurement, a cProfile of PATH's requests (this thread's CPU
time, top 60, ``--sort tottime|cumulative``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from serve_app import bare_app  # noqa: E402
from wrk_support import PASSWORD, RECORD, SCHEMA, batch_bodies, benben_environment  # noqa: E402

PATHS = ("get", "page", "post", "patch", "put", "delete")
RECORDS = "/api/v1/collections/bench/records"
PATCH = json.dumps({"data": {"price": 3}})
JSON = "application/json"


class Counters:
    """SQL statements and transactions (SQLAlchemy engine events), Redis round trips (each
    command or pipeline the client sends), by every thread of this process."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.counts = {"sql": 0, "begin": 0, "redis": 0}
        self._lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", lambda *_: self._add("sql"))
        event.listen(engine, "begin", lambda *_: self._add("begin"))
        self._count_redis()

    def _add(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def _count_redis(self) -> None:
        # Every command and pipeline leaves through send_packed_command: one write, one trip.
        import redis.connection

        cls = redis.connection.AbstractConnection
        original = cls.send_packed_command
        counters = self

        def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
            counters._add("redis")
            original(self, command, check_health)

        cls.send_packed_command = send_packed_command  # type: ignore[method-assign]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


def measure(one: Callable[[], Any], n: int, counters: Counters | None = None) -> dict[str, float]:
    before = counters.snapshot() if counters else {}
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        one()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    result = {"cpu": cpu / n * 1e6, "wall": wall / n * 1e6}
    if counters:
        after = counters.snapshot()
        result.update({name: (after[name] - before[name]) / n for name in after})
    return result


class Bench:
    """Benben in this process, seeded as the serving benchmarks seed it, and one request
    function per hot path."""

    def __init__(self, requests: int) -> None:
        import webtest

        from benben import main

        self.app = webtest.TestApp(main({}))
        self.counters = Counters(self._engine())
        login = {"username": "admin", "password": PASSWORD}
        token = self.app.post_json("/api/v1/auth/login", login).json["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.etags: dict[str, str] = {}
        self._seed(requests)

    def _engine(self) -> Any:
        from benben.db import get_engine

        return get_engine(self.app.app.registry)

    def _seed(self, requests: int) -> None:
        collection = {"id": "bench", "schema": SCHEMA, "indexed_fields": ["price", "category"]}
        self.app.post_json("/api/v1/collections", collection, headers=self.headers)
        self.app.post_json("/api/v1/collections", {"id": "deletable"}, headers=self.headers)
        records = [(f"r{i}", {**RECORD, "price": i, "title": f"record {i}"}) for i in range(200)]
        self._batch("bench", [*records, ("p1", RECORD), ("u1", RECORD)])
        self.deletable = iter(range(requests))
        self._batch("deletable", [(f"d{i}", RECORD) for i in range(requests)])
        for rid in ("p1", "u1"):
            self.etags[rid] = self.app.get(f"{RECORDS}/{rid}", headers=self.headers).headers["ETag"]

    def _batch(self, collection: str, records: list[tuple[str, Any]]) -> None:
        for body in batch_bodies(collection, records):
            self.app.post_json("/api/v1/batch", body, headers=self.headers)

    def request(self, path: str) -> Callable[[], Any]:
        app, headers = self.app, self.headers
        if path == "get":
            return lambda: app.get(f"{RECORDS}/r7", headers=headers)
        if path == "page":
            return lambda: app.get(f"{RECORDS}?_limit=100&_sort=price", headers=headers)
        if path == "post":
            return lambda: app.post_json(RECORDS, {"data": RECORD}, headers=headers)
        if path == "patch":
            merge = {**headers, "Content-Type": "application/merge-patch+json"}
            return lambda: self._write("p1", app.patch, PATCH, merge)
        if path == "put":
            body, put = json.dumps({"data": RECORD}), {**headers, "Content-Type": JSON}
            return lambda: self._write("u1", app.put, body, put)
        if path == "delete":
            collection = "/api/v1/collections/deletable/records"
            return lambda: app.delete(f"{collection}/d{next(self.deletable)}", headers=headers)
        raise SystemExit(f"unknown path {path!r} (known: {', '.join(PATHS)})")

    def _write(self, rid: str, method: Callable[..., Any], body: str, headers: Any) -> None:
        response = method(
            f"{RECORDS}/{rid}", body, headers={**headers, "If-Match": self.etags[rid]}
        )
        self.etags[rid] = response.headers["ETag"]


def prepare(env: dict[str, str]) -> None:
    """Migrate and create the administrator, as a server's deployment does."""
    command = [sys.executable, str(HERE / "serve_app.py"), "benben", "--prepare"]
    subprocess.run(command, env={**os.environ, **env}, check=True)


def run(args: argparse.Namespace) -> None:
    import webtest

    paths = [p for p in args.paths.split(",") if p]
    bare = webtest.TestApp(bare_app())
    per_round = max(1, args.requests // args.rounds)
    warmup = min(200, per_round)
    deletes = args.rounds * per_round + warmup + (args.requests if args.profile == "delete" else 0)
    with tempfile.TemporaryDirectory() as tmp, benben_environment(args.backend, tmp) as env:
        if args.ratelimit == "off":
            env["BENBEN_RATELIMIT_ENABLED"] = "false"
        prepare(env)
        os.environ.update(env)
        bench = Bench(deletes)
        print(f"backend {args.backend}, rate limiter {args.ratelimit}, {per_round} requests x "
              f"{args.rounds} rounds per path; medians of the rounds")  # fmt: skip
        print(f"{'path':8} {'cpu us':>8} {'wall us':>8} {'bare cpu':>9} {'ratio':>6} "
              f"{'sql':>5} {'begin':>6} {'redis':>6}")  # fmt: skip
        bare_one = lambda: bare.get("/bare")  # noqa: E731
        measure(bare_one, warmup)
        for path in paths:
            one = bench.request(path)
            measure(one, warmup)
            rounds = []
            for _ in range(args.rounds):
                baseline = measure(bare_one, per_round)
                result = measure(one, per_round, bench.counters)
                rounds.append({**result, "bare": baseline["cpu"]})
            row = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
            ratio = statistics.median(r["bare"] / r["cpu"] for r in rounds)
            counts = f"{row['sql']:5.2f} {row['begin']:6.2f} {row['redis']:6.2f}"
            print(f"{path:8} {row['cpu']:8.0f} {row['wall']:8.0f} {row['bare']:9.0f} "
                  f"{ratio:6.3f} {counts}")  # fmt: skip
        if args.profile:
            profile(bench.request(args.profile), args.requests, args.sort)


def profile(one: Callable[[], Any], n: int, sort: str) -> None:
    # This thread's CPU: the profiler sees no other thread, and must not charge it theirs.
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    for _ in range(n):
        one()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(60)
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--requests", type=int, default=2000, help="per path, over all rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--ratelimit", choices=("on", "off"), default="on")
    parser.add_argument("--profile", choices=PATHS, help="then profile this path's requests")
    parser.add_argument("--sort", default="tottime", help="of the profile: tottime, cumulative")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
