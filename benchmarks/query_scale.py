"""The filtered, sorted first page of a large collection on PostgreSQL, run after run.

Each run makes a fresh database, starts Benben on it (waitress, ``threads=4``, Redis cache),
creates a collection with a JSON Schema and two declared indexed fields through the API (so its
indexes are made on an empty collection, as in production), writes the records straight into
the table (the API would take minutes), then measures the first page of

    ?category=c&price__ge=<bound>&_sort=-price&_limit=100

over sequential requests on one kept-alive connection (``Cache-Control: no-cache`` and a
different bound each time, so that every answer is read from the database).

It measures twice: **fresh**, right after the bulk write (what a server has until autovacuum
analyzes the table), then **settled**, once autovacuum has analyzed it, or, where autovacuum is
off (as on our development machines), after a ``VACUUM (ANALYZE)`` standing in for it.

Each measurement prints whether the table was analyzed by then (by autovacuum, the benchmark or
the app, which analyzes it when a slow page finds its statistics stale), the load average (on a
busy machine every round trip waits for a core), the request p50/p99, the page statement's p50
as the app timed it (query_scale_app.py keeps a statement log), and the server's execution
time and plan of the last one: ``EXPLAIN (ANALYZE, BUFFERS)`` with the values the app bound
(a custom plan), and the generic plan of a prepared statement (psycopg prepares after 5
executions); "reads" are blocks per request read from outside PostgreSQL's shared buffers.
Then two shapes whose plans depend more on statistics, and the spread over runs.

    python benchmarks/query_scale.py [--records 100000] [--scale] [--runs 3] [--requests 150]

``--scale`` runs 1,000,000 records instead.  Needs PostgreSQL (a role that may create
databases) and Redis as the test suite expects them (``BENBEN_TEST_POSTGRESQL_URL``,
``BENBEN_TEST_REDIS_URL``).  Not part of the test run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
from core_overhead import free_port, wait_until_up

APP = Path(__file__).parent / "query_scale_app.py"  # Benben with a statement log

POSTGRESQL = os.environ.get(
    "BENBEN_TEST_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS = os.environ.get("BENBEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "bench-password-1234"  # noqa: S105 - a throwaway benchmark account
QUERY = "/api/v1/collections/scale/records?category=c&price__ge={bound}&_sort=-price&_limit=100"
# Other shapes data-queries.md promises an index for, whose plans depend on statistics more.
OTHER_SHAPES = [
    "/api/v1/collections/scale/records?_sort=-price&_limit=100",
    "/api/v1/collections/scale/records?category=c&_sort=-price&_limit=100",
]
SCHEMA = {"type": "object", "required": ["title", "price"], "properties": {
    "title": {"type": "string", "maxLength": 200}, "price": {"type": "number", "minimum": 0},
    "category": {"type": "string", "enum": ["a", "b", "c", "d"]}, "stock": {"type": "integer"},
}}  # fmt: skip


def url(database: str | None = None) -> str:
    address = make_url(POSTGRESQL)
    return (address.set(database=database) if database else address).render_as_string(False)


def connect(database: str | None = None) -> psycopg.Connection[Any]:
    return psycopg.connect(url(database), autocommit=True)


class Run:
    """One fresh database, one Benben process on it, and an administrator's token."""

    def __init__(self) -> None:
        self.database = f"benben_qs_{uuid.uuid4().hex[:10]}"
        with connect() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        self.db = connect(self.database)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data_dir = tempfile.TemporaryDirectory()
        self.log_path = Path(self.data_dir.name) / "statements.json"
        self.env = {
            **os.environ,
            "BENBEN_DATA_DIR": self.data_dir.name,
            "BENBEN_LOGGING_LEVEL": "warning",
            "BENBEN_ADMIN_PASSWORD": PASSWORD,
            "BENBEN_DATABASE_AUTO_MIGRATE": "true",
            "BENBEN_DATABASE_URL": url(self.database),
            "BENBEN_CACHE_BACKEND": "redis",
            "BENBEN_CACHE_URL": REDIS,
            "BENBEN_CACHE_PREFIX": f"{self.database}:",
            "BENBEN_RATELIMIT_ENABLED": "false",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.token = ""
        try:
            self.start()
            credentials = {"username": "admin", "password": PASSWORD}
            self.token = self.api("POST", "/api/v1/auth/login", credentials)["access_token"]
        except BaseException:
            self.close()
            raise

    def start(self) -> None:
        command = [sys.executable, str(APP), str(self.port), str(self.log_path)]
        self.process = subprocess.Popen(command, env=self.env)
        wait_until_up(self.base + "/health/ready", timeout=60)

    def stop(self) -> dict[str, Any]:
        """Stops the app; its statement log."""
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=20)
        self.process = None
        return json.loads(self.log_path.read_text())

    def api(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data, headers, method=method)  # noqa: S310
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            text = response.read()
        return json.loads(text) if text else None

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=20)
        self.db.close()
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        with connect() as admin:
            admin.execute(drop.format(sql.Identifier(self.database)))
        self.data_dir.cleanup()


def seed(run: Run, count: int) -> None:
    """The collection through the API, its records straight into the table, as the API writes
    them (one statement per 100,000 rows, so that no single transaction holds them all).  The
    administrator reads every record: the creators' grants and the history the API would also
    write play no part in the query, and are left out."""
    run.api(
        "POST",
        "/api/v1/collections",
        {"id": "scale", "schema": SCHEMA, "indexed_fields": ["price", "category"]},
    )
    now = int(time.time() * 1000)
    for start in range(0, count, 100_000):
        end = min(start + 100_000, count)
        run.db.execute(
            """
            INSERT INTO benben_records
                (collection_id, id, data, permissions, last_modified, created_by, deleted)
            SELECT 'scale', 'b' || n,
                   jsonb_build_object('title', 'item ' || n,
                                      'price', (n::bigint * 7919) %% 100000,
                                      'category', chr(97 + (n %% 4)::int), 'stock', n %% 50),
                   '{}', %(now)s + n, NULL, false
            FROM generate_series(%(start)s::bigint, %(end)s::bigint - 1) AS n
            """,
            {"now": now, "start": start, "end": end},
        )
    run.db.execute(
        "UPDATE benben_collections SET record_count = %(count)s, last_modified ="
        " (SELECT max(last_modified) FROM benben_records WHERE collection_id = 'scale')"
        " WHERE id = 'scale'",
        {"count": count},
    )


def analyzed(run: Run) -> bool:
    """Whether anything analyzed the records table: autovacuum, the benchmark, or the app."""
    (done,) = run.db.execute(
        "SELECT coalesce(last_analyze, last_autoanalyze) IS NOT NULL FROM pg_stat_user_tables"
        " WHERE relname = 'benben_records'"
    ).fetchone()
    return bool(done)


def settle(run: Run, timeout: float = 600) -> str:
    """The table as production keeps it: analyzed (and vacuumed) by autovacuum, or by hand
    where autovacuum is off.  What was done, for the report."""
    if run.db.execute("SHOW autovacuum").fetchone()[0] != "on":
        run.db.execute("VACUUM (ANALYZE) benben_records")
        return "autovacuum off: VACUUM (ANALYZE) by the benchmark"
    deadline = time.monotonic() + timeout
    while not analyzed(run):
        if time.monotonic() > deadline:
            raise SystemExit("nothing analyzed benben_records in time")
        time.sleep(1)
    return "autovacuum on: measured once the table was analyzed"


def get(connection: http.client.HTTPConnection, token: str, path: str) -> float:
    """One request's time (ms); its answer must be a full page."""
    headers = {"Authorization": f"Bearer {token}", "Cache-Control": "no-cache"}
    started = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200 or len(json.loads(body)["data"]) != 100:
        raise SystemExit(f"GET {path}: {response.status} {body[:300]!r}")
    return elapsed


def measure(run: Run, requests: int, warmup: int, offset: int) -> dict[str, Any]:
    """p50/p99 (ms) of sequential requests on one kept-alive connection, as a client's; each
    bound different, so that no answer comes from a cache.  Then the other shapes, three
    requests each: a slow page makes the app analyze stale statistics, so the first one may
    take far longer than the next."""
    connection = http.client.HTTPConnection("127.0.0.1", run.port, timeout=120)
    timings = [
        get(connection, run.token, QUERY.format(bound=50_000 + offset + i))
        for i in range(warmup + requests)
    ]
    was_analyzed = analyzed(run)
    others = [[get(connection, run.token, shape) for _ in range(3)] for shape in OTHER_SHAPES]
    connection.close()
    timings = sorted(timings[warmup:])
    return {
        "p50": statistics.median(timings),
        "p99": timings[int(len(timings) * 0.99) - 1],
        "analyzed": was_analyzed,
        "others_ms": others,
    }


def _literal(kind: str, value: str) -> Any:
    return {"Decimal": Decimal, "int": int}.get(kind, str)(value)


def explain(run: Run, statement: str, parameters: dict[str, list[str]]) -> dict[str, Any]:
    """A page statement the app issued, explained with the values it bound (a custom plan) and
    as a prepared statement's generic plan: the median execution time of 5 runs, and the plan."""
    names = list(parameters)
    values = [_literal(*parameters[name]) for name in names]
    template = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", statement)
    arguments = sql.SQL(", ").join(sql.Literal(v) for v in values).as_string(run.db)
    result: dict[str, Any] = {}
    with run.db.transaction():
        run.db.execute(f"PREPARE bench_page AS {template}")
        for mode in ("custom", "generic"):
            run.db.execute(f"SET LOCAL plan_cache_mode = force_{mode}_plan")
            times, plan = [], {}
            for _ in range(5):
                (document,) = run.db.execute(
                    f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE bench_page({arguments})"
                ).fetchone()
                times.append(document[0]["Execution Time"])
                plan = document[0]["Plan"]
            result[mode] = {"ms": statistics.median(times), "plan": describe(plan)}
        run.db.execute("DEALLOCATE bench_page")
    return result


def describe(node: dict[str, Any]) -> str:
    """A plan as its node types and index names, outermost first (``Limit > Index Scan
    Backward (…e57ae92b)``), and the rows its leaf read: enough to tell plans apart."""
    parts = []
    while True:
        label = node["Node Type"]
        if node.get("Scan Direction") == "Backward":
            label += " Backward"
        if "Index Name" in node:
            label += f" (…{node['Index Name'][-8:]})"
        parts.append(label)
        children = node.get("Plans") or []
        if len(children) != 1:
            parts += ["[" + ", ".join(describe(child) for child in children) + "]"] * bool(children)
            parts[-1] += f" rows={node['Actual Rows']:.0f}"
            return " > ".join(parts)
        node = children[0]


def blocks_read(run: Run) -> int:
    """Records' table and index blocks read from outside PostgreSQL's shared buffers so far
    (from the OS's cache or the disk): what a collection larger than the buffers costs."""
    (read,) = run.db.execute(
        "SELECT heap_blks_read + coalesce(idx_blks_read, 0) FROM pg_statio_user_tables"
        " WHERE relname = 'benben_records'"
    ).fetchone()
    return int(read)


def phase(run: Run, name: str, options: argparse.Namespace, offset: int) -> dict[str, Any]:
    before = blocks_read(run)
    figures = measure(run, options.requests, options.warmup, offset)
    figures["load"] = os.getloadavg()[0]  # a busy machine makes every round trip wait
    everything = run.stop()  # its connections' statistics are counted once they close
    requests = options.warmup + options.requests + 3 * len(OTHER_SHAPES)
    figures["reads"] = (blocks_read(run) - before) / requests
    figures["statements"] = [
        (len(entry["ms"]) / requests, statistics.median(entry["ms"]), " ".join(text.split())[:60])
        for text, entry in everything.items()
        if len(entry["ms"]) >= requests / 2
    ]
    log = {
        text: entry
        for text, entry in everything.items()
        if "FROM benben_records" in text and "ORDER BY" in text
    }
    main = max(log, key=lambda statement: len(log[statement]["ms"]))
    figures["sql_p50"] = statistics.median(log[main]["ms"][options.warmup :])
    figures["server"] = explain(run, main, log[main]["parameters"])
    figures["others"] = [
        explain(run, statement, entry["parameters"])["custom"]
        for statement, entry in log.items()
        if statement != main
    ]
    figures["name"] = name
    run.start()  # a fresh process: the next phase starts with the pool and caches cold too
    return figures


def one_run(options: argparse.Namespace, number: int) -> list[dict[str, Any]]:
    run = Run()
    try:
        seed(run, options.records)
        fresh = phase(run, "fresh", options, 0)
        how = settle(run)
        settled = phase(run, "settled", options, 10_000)
        print(f"run {number}: {how}", file=sys.stderr)
        return [fresh, settled]
    finally:
        run.close()


def report(results: list[list[dict[str, Any]]], records: int) -> None:
    print(f"\nfirst page of {QUERY.format(bound='N')}, {records:,} records")
    print(
        f"{'run':<4} {'state':<8} {'analyzed':<8} {'load':>5} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'sql p50':>8} {'reads':>6} {'custom':>7} {'generic':>8}  plans: custom | generic"
    )
    for number, phases in enumerate(results, 1):
        for r in phases:
            custom, generic = r["server"]["custom"], r["server"]["generic"]
            print(
                f"{number:<4} {r['name']:<8} {'yes' if r['analyzed'] else 'no':<8} "
                f"{r['load']:>5.1f} {r['p50']:>7.2f} {r['p99']:>7.2f} {r['sql_p50']:>8.2f} "
                f"{r['reads']:>6.0f} "
                f"{custom['ms']:>7.2f} {generic['ms']:>8.2f}  "
                f"{custom['plan']} | {generic['plan']}"
            )
    print("\nstatements per request (per request, p50 ms as the app timed them)")
    for number, phases in enumerate(results, 1):
        for r in phases:
            for per_request, p50, text in r["statements"]:
                print(f"{number:<4} {r['name']:<8} {per_request:>5.2f} {p50:>7.2f}  {text}")
    print("\nother shapes: 1st and 3rd request (ms), then server execution and plan")
    for number, phases in enumerate(results, 1):
        for r in phases:
            for shape, times, other in zip(OTHER_SHAPES, r["others_ms"], r["others"], strict=False):
                query, plan = shape.split("?")[1].split("&_limit")[0], other["plan"]
                print(
                    f"{number:<4} {r['name']:<8} {times[0]:>8.2f} {times[-1]:>7.2f} "
                    f"{other['ms']:>7.2f}  {query}: {plan}"
                )
    print("\nspread")
    for state in ("fresh", "settled"):
        p50s = [r["p50"] for phases in results for r in phases if r["name"] == state]
        servers = [r["server"]["custom"]["ms"] for phases in results for r in phases
                   if r["name"] == state]  # fmt: skip
        print(
            f"{state:<8} request p50 {min(p50s):.2f}-{max(p50s):.2f} ms over {len(p50s)} runs; "
            f"server execution {min(servers):.2f}-{max(servers):.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--scale", action="store_true", help="1,000,000 records")
    parser.add_argument("--runs", type=int, default=3, help="fresh databases, one after another")
    parser.add_argument("--requests", type=int, default=150, help="measured requests per phase")
    parser.add_argument("--warmup", type=int, default=20, help="requests before measuring")
    options = parser.parse_args()
    if options.scale:
        options.records = 1_000_000
    results = [one_run(options, number) for number in range(1, options.runs + 1)]
    report(results, options.records)


if __name__ == "__main__":
    main()
