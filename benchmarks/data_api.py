"""The data API's hot paths against a bare Pyramid JSON view, in the same run on the same machine.

Starts Benben under waitress (one process, ``threads=4``) on PostgreSQL + Redis and on SQLite +
the in-process cache, logs in, seeds a collection with a JSON Schema, and drives it with ``wrk``
(16 connections, 16 threads) over loopback: authenticated GET of one record, GET of a 100-record
page, POST of a schema-validated record, and the writes other than creation, each connection
writing its own records: PATCH and PUT with ``If-Match`` (the ETag of its previous answer), and
DELETE (a fresh record each request, seeded in a collection of their own).  A bare Pyramid view
served the same way is the baseline: each path runs ``--rounds`` times, each run right after one
of the baseline, and is printed with the median of those ratios (and their range; 5 rounds by
default, as single runs on a busy machine vary by a third).  The hot paths run twice per backend:
with the rate limiter off (the data API alone), then on as configured by default but with limits
no run reaches ("+limiter": its cost per request).  ``--events both`` also runs each backend with
the change feed off (``benben.events.enabled = false``, "-feed") and prints what the feed costs
each path (issue #16's target: POST with the feed >= 0.9 of POST without it).

The filtered, sorted first page of a large collection is measured by
``benchmarks/query_scale.py``, not here.

    python benchmarks/data_api.py [--duration 10] [--rounds 5] [--backends postgresql,sqlite]
                                  [--ratelimit off|on|both] [--paths get,page,post,patch,...]
                                  [--events on|off|both]

Needs ``wrk`` on PATH, and PostgreSQL and Redis as the test suite expects them
(``BENBEN_TEST_POSTGRESQL_URL``, ``BENBEN_TEST_REDIS_URL`` override).  Not part of the test run.
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
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from core_overhead import BARE_APP, free_port, wait_until_up
from wrk_support import PASSWORD, POSTGRESQL, RECORD, REDIS, SCHEMA, call, run_wrk

BENBEN_APP = textwrap.dedent(
    """
    import logging, os, sys, waitress
    from benben.config import make_wsgi_app

    app = make_wsgi_app({}, setup_logging=True)
    logging.getLogger("benben.access").setLevel(logging.WARNING)
    waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=4, _quiet=True)
    """
)


class Instance:
    """One Benben process on one backend pair, with a logged-in administrator."""

    def __init__(self, backend: str, data_dir: str, ratelimit: bool, events: bool = True) -> None:
        self.backend = backend
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.schema = f"bench_{uuid.uuid4().hex[:10]}"
        env = {
            **os.environ,
            "BENBEN_DATA_DIR": data_dir,
            "BENBEN_LOGGING_LEVEL": "warning",
            "BENBEN_ADMIN_PASSWORD": PASSWORD,
            "BENBEN_DATABASE_AUTO_MIGRATE": "true",
            "BENBEN_DATA_MAX_PAGE_SIZE": "1000",
            "BENBEN_EVENTS_ENABLED": "true" if events else "false",
        }
        if ratelimit:  # counted, but never refusing: its cost shows in the figures
            env["BENBEN_RATELIMIT_DEFAULT"] = "100000000/minute"
            env["BENBEN_RATELIMIT_GROUPS"] = "auth=100000000/minute write=100000000/minute"
        else:
            env["BENBEN_RATELIMIT_ENABLED"] = "false"
        self._autovacuum = True
        if backend == "postgresql":
            self._autovacuum = self._psql("SHOW autovacuum").strip() == "on"
            self._create_schema()
            separator = "&" if "?" in POSTGRESQL else "?"
            env["BENBEN_DATABASE_URL"] = (
                f"{POSTGRESQL}{separator}options=-csearch_path%3D{self.schema}"
            )
            env["BENBEN_CACHE_BACKEND"] = "redis"
            env["BENBEN_CACHE_URL"] = REDIS
            env["BENBEN_CACHE_PREFIX"] = f"{self.schema}:"
        self.process = subprocess.Popen([sys.executable, "-c", BENBEN_APP, str(self.port)], env=env)
        wait_until_up(self.base + "/health/ready", timeout=60)
        login = call(
            self.base, "POST", "/api/v1/auth/login", {"username": "admin", "password": PASSWORD}
        )
        self.token = login["access_token"]

    def _psql(self, sql: str) -> str:
        result = subprocess.run(
            ["psql", POSTGRESQL, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
            check=False, capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode != 0:
            raise SystemExit(f"psql failed: {result.stderr.strip()}")
        return result.stdout

    def _create_schema(self) -> None:
        self._psql(f'CREATE SCHEMA "{self.schema}"')

    def maintain(self) -> None:
        """What autovacuum does on a production server: this machine's PostgreSQL runs with it
        off, and without fresh statistics and vacuumed pages, plans made for the seeded tables
        (a foreign key's check among them) go stale as a POST run grows them, and the
        collection's row accumulates dead versions, so each run measured slower than the last."""
        if self.backend != "postgresql" or self._autovacuum:
            return
        tables = ", ".join(
            f'"{self.schema}".{name}'
            for name in ("benben_collections", "benben_records", "benben_record_grants",
                         "benben_history", "benben_events")
        )  # fmt: skip
        self._psql(f"VACUUM (ANALYZE) {tables}")

    def api(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        return call(self.base, method, path, body, self.token, headers)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
        if self.backend == "postgresql":
            self._psql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def seed(instance: Instance) -> dict[str, str]:
    """A collection with a schema and indexed fields, 200 records; ids for the runs."""
    instance.api(
        "POST",
        "/api/v1/collections",
        {"id": "bench", "schema": SCHEMA, "indexed_fields": ["price", "category"]},
    )
    for start in range(0, 200, 50):
        operations = [
            {
                "method": "PUT",
                "path": f"/api/v1/collections/bench/records/r{i}",
                "body": {"data": {**RECORD, "price": i, "title": f"record {i}"}},
            }
            for i in range(start, start + 50)
        ]
        instance.api("POST", "/api/v1/batch", {"requests": operations})
    return {
        "record": "/api/v1/collections/bench/records/r7",
        "page": "/api/v1/collections/bench/records?_limit=100&_sort=price",
    }


WRK_THREADS = 16  # and connections: one each


def lua_script(instance: Instance, kind: str, run: int) -> str:
    """The wrk script of a path; ``run`` numbers the runs of a path (warm-up 0), so that the
    DELETE run finds records of its own that no earlier run deleted."""
    auth = f'wrk.headers["Authorization"] = "Bearer {instance.token}"\n'
    if kind == "post":
        body = json.dumps({"data": RECORD})
        return auth + textwrap.dedent(
            f"""
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            wrk.body = {json.dumps(body)}
            """
        )
    if kind in ("patch", "put"):
        # One record per wrk thread (one connection each), written with the ETag it last saw.
        method, prefix, content_type, body = {
            "patch": ("PATCH", "p", "application/merge-patch+json", '{"data": {"price": 3}}'),
            "put": ("PUT", "u", "application/json", json.dumps({"data": RECORD})),
        }[kind]
        return auth + textwrap.dedent(
            f"""
            local counter = 0
            function setup(thread)
              counter = counter + 1
              thread:set("rid", "{prefix}" .. counter)
            end
            local etag = nil
            function request()
              local headers = {{["Content-Type"] = "{content_type}",
                               ["Authorization"] = wrk.headers["Authorization"]}}
              if etag then headers["If-Match"] = etag end
              return wrk.format("{method}", "/api/v1/collections/bench/records/" .. rid, headers,
                                {json.dumps(body)})
            end
            function response(status, headers, body)
              etag = headers["ETag"]
            end
            """
        )
    if kind == "delete":
        # Each wrk thread deletes its own seeded records, d<run>_<thread>_<n>, one per request.
        return auth + textwrap.dedent(
            f"""
            local counter = 0
            function setup(thread)
              counter = counter + 1
              local records = "/api/v1/collections/deletable/records/"
              thread:set("prefix", records .. "d{run}_" .. counter .. "_")
            end
            local n = 0
            function request()
              n = n + 1
              return wrk.format("DELETE", prefix .. n,
                                {{["Authorization"] = wrk.headers["Authorization"]}})
            end
            """
        )
    return auth


def seed_deletable(instance: Instance, runs: int, per_thread: int) -> None:
    """Collection "deletable" with ``per_thread`` records for each wrk thread of each run,
    written straight into the database (the API would take minutes); its version moves past
    them, so the app reads it anew."""
    instance.api("POST", "/api/v1/collections", {"id": "deletable"})
    now = int(time.time() * 1000)
    total = runs * WRK_THREADS * per_thread
    data = json.dumps(RECORD)
    if instance.backend == "postgresql":
        # Only integers this script computed and its own JSON are interpolated.
        sql = f"""
            SET search_path = "{instance.schema}";
            INSERT INTO benben_records
                (collection_id, id, data, permissions, last_modified, created_by, deleted)
            SELECT 'deletable', 'd' || r || '_' || t || '_' || n, '{data}'::jsonb, '{{}}',
                   {now} + row_number() OVER (), NULL, false
              FROM generate_series(0, {runs - 1}) AS r,
                   generate_series(1, {WRK_THREADS}) AS t,
                   generate_series(1, {per_thread}) AS n;
            UPDATE benben_collections SET record_count = {total},
                   last_modified = {now + total + 1} WHERE id = 'deletable';
            ANALYZE benben_records;
        """  # noqa: S608
        instance._psql(sql)
        return
    rows = (
        (f"d{run}_{thread}_{n}", now + index)
        for index, (run, thread, n) in enumerate(
            (run, thread, n)
            for run in range(runs)
            for thread in range(1, WRK_THREADS + 1)
            for n in range(1, per_thread + 1)
        )
    )
    import sqlite3

    with sqlite3.connect(Path(instance.data_dir) / "benben.sqlite") as db:
        db.executemany(
            "INSERT INTO benben_records (collection_id, id, data, permissions, last_modified,"
            " created_by, deleted) VALUES ('deletable', ?, ?, '{}', ?, NULL, 0)",
            ((rid, data, stamp) for rid, stamp in rows),
        )
        db.execute(
            "UPDATE benben_collections SET record_count = ?, last_modified = ?"
            " WHERE id = 'deletable'",
            (total, now + total + 1),
        )


class Baseline:
    """The bare Pyramid view, kept running: measured in turn with each hot path, so that a ratio
    compares runs seconds apart (this machine's speed drifts by a quarter over minutes)."""

    def __init__(self) -> None:
        port = free_port()
        self.process = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)])
        self.url = f"http://127.0.0.1:{port}/bare"
        wait_until_up(self.url)
        run_wrk(self.url, 2, threads=WRK_THREADS)
        self.runs: list[dict[str, Any]] = []

    def measure(self, duration: int) -> dict[str, Any]:
        result = run_wrk(self.url, duration, threads=WRK_THREADS)
        self.runs.append(result)
        return result

    def summary(self) -> dict[str, Any]:
        return {
            "name": "bare Pyramid JSON view (median run)",
            **{k: statistics.median(r[k] for r in self.runs) for k in ("rps", "p50", "p99")},
            "errors": sum(r["errors"] for r in self.runs),
            "ratio": 1.0,
            "spread": "",
        }

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def wrk(instance: Instance, url: str, kind: str, run: int, duration: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(instance, kind, run))
    try:
        return run_wrk(url, duration, script.name, threads=WRK_THREADS)
    finally:
        os.unlink(script.name)


def measure(
    instance: Instance,
    baseline: Baseline,
    name: str,
    path: str,
    kind: str,
    duration: int,
    rounds: int,
) -> dict[str, Any]:
    """``rounds`` runs of the path, each right after a run of the baseline: the median of the
    paths' figures, and the median (and range) of the per-round ratios."""
    url = instance.base + path
    wrk(instance, url, kind, 0, 2)  # warm-up: caches, connection pools
    runs, ratios = [], []
    for run in range(1, rounds + 1):
        bare = baseline.measure(duration)
        runs.append(wrk(instance, url, kind, run, duration))
        ratios.append(runs[-1]["rps"] / bare["rps"])
        instance.maintain()
    return {
        "name": f"{instance.backend:<10} {name}",
        **{k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99")},
        "errors": sum(r["errors"] for r in runs),
        "ratio": statistics.median(ratios),
        "spread": f"{min(ratios):.2f}-{max(ratios):.2f}",
    }


PATHS = {
    "get": "GET one record",
    "page": "GET 100-record page",
    "post": "POST validated record",
    "patch": "PATCH with If-Match",
    "put": "PUT with If-Match",
    "delete": "DELETE",
}


def hot_paths(
    instance: Instance, baseline: Baseline, options: argparse.Namespace
) -> list[dict[str, Any]]:
    paths = seed(instance)
    for i in range(1, WRK_THREADS + 1):  # the PATCH and PUT runs' records, one per wrk thread
        for prefix in ("p", "u"):
            instance.api("PUT", f"/api/v1/collections/bench/records/{prefix}{i}", {"data": RECORD})
    kinds = options.paths.split(",")
    if "delete" in kinds:
        # Enough for 300 requests/s per connection; more would show as non-2xx (404).
        seed_deletable(instance, options.rounds + 1, 300 * max(options.duration, 2))
    urls = {
        "get": paths["record"],
        "page": paths["page"],
        "post": "/api/v1/collections/bench/records",
        "patch": "/api/v1/collections/bench/records/p1",  # the scripts build their own paths
        "put": "/api/v1/collections/bench/records/u1",
        "delete": "/api/v1/collections/deletable/records/d0_1_1",
    }
    return [
        measure(instance, baseline, PATHS[kind], urls[kind], kind, options.duration, options.rounds)
        for kind in kinds
    ]


def report(baseline: dict[str, Any], results: list[dict[str, Any]]) -> None:
    print(
        f"\n{'what':<51} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} "
        f"{'(range)':>10} {'non-2xx':>8}"
    )
    for r in [baseline, *results]:
        print(
            f"{r['name']:<51} {r['rps']:>8.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
            f"{r['ratio']:>6.2f} {r['spread']:>10} {r['errors']:>8.0f}"
        )


def run_backend(
    backend: str,
    limited: bool,
    baseline: Baseline,
    options: argparse.Namespace,
    events: bool = True,
) -> list[dict[str, Any]]:
    """The hot paths on one backend with the limiter on or off, the change feed on or off."""
    with tempfile.TemporaryDirectory() as data_dir:
        instance = Instance(backend, data_dir, limited, events)
        instance.data_dir = data_dir
        try:
            results = hot_paths(instance, baseline, options)
            for result in results:
                if limited:
                    result["name"] += " +limiter"
                if not events:
                    result["name"] += " -feed"
        finally:
            instance.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds of each wrk run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        # On a shared 2-core machine the bare baseline alone ranged 1,200-2,000 req/s within a
        # minute: medians of three rounds swung by 0.1.
        help="runs of each path, each after a baseline run",
    )
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument(
        "--paths",
        default=",".join(PATHS),
        help=f"the paths to run, of {','.join(PATHS)} (default: all)",
    )
    parser.add_argument(
        "--ratelimit",
        choices=("off", "on", "both"),
        default="both",
        help="the hot paths with the rate limiter off, on (the default configuration, with "
        "limits never reached: its cost shows in the figures), or both (default)",
    )
    parser.add_argument(
        "--events",
        choices=("on", "off", "both"),
        default="on",
        help="the change feed on (default), off, or both: then what it costs each path",
    )
    options = parser.parse_args()
    unknown = set(options.paths.split(",")) - set(PATHS)
    if unknown:
        parser.error(f"unknown paths: {', '.join(sorted(unknown))}")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    baseline = Baseline()
    results: list[dict[str, Any]] = []
    modes = {"off": [False], "on": [True], "both": [False, True]}[options.ratelimit]
    feeds = {"off": [False], "on": [True], "both": [True, False]}[options.events]
    try:
        for backend in options.backends.split(","):
            for limited in modes:
                for events in feeds:
                    results += run_backend(backend, limited, baseline, options, events)
    finally:
        baseline.close()
    report(baseline.summary(), results)
    if options.events == "both":
        report_feed_cost(results)


def report_feed_cost(results: list[dict[str, Any]]) -> None:
    """Each path's throughput with the feed over without it, from the ratios to the baseline
    (each measured right after its own baseline run, so the machine's drift cancels)."""
    without = {r["name"].removesuffix(" -feed"): r for r in results if r["name"].endswith("-feed")}
    print(f"\n{'with the change feed / without':<51} {'ratio':>6}")
    for r in results:
        if r["name"] in without:
            print(f"{r['name']:<51} {r['ratio'] / without[r['name']]['ratio']:>6.2f}")


if __name__ == "__main__":
    main()
