"""Full-text search (``_q``) on a large collection, and what searchable fields cost writes.

For each backend (SQLite, and PostgreSQL + Redis), Benben runs in this process (``benben.main``,
driven through webtest, as request_cpu.py does; on PostgreSQL its embedded worker builds the
search index as a server's would). A collection with three searchable fields (title, body,
author; ``search_language`` english) is created through the API and filled with ``--records``
generated records (benchmarks/search_corpus.py) through ``POST /api/v1/batch``, the write path
of every record (on SQLite the FTS5 table is written by the records' triggers; on PostgreSQL the
collection's GIN index is built, concurrently, on the empty collection when it is declared, and
kept by each insert). Then, once PostgreSQL's tables are vacuumed and analyzed (as autovacuum
would have them):

- **search latency**: the first page (``_limit=20``, as a search page shows) of ``_q=`` a
  common word, a rare word and a phrase, with the collection's default sort and with
  ``_sort=-_rank``; sequential requests with ``Cache-Control: no-cache`` (every answer read from
  the database); p50 and p95 in ms, and the records matching. Target (issue #19): p50 <= 20 ms.
- **writes**: ``POST`` of a generated record into the searchable collection and into the same
  collection without searchable fields (``plain``, same schema, same records), in rounds that
  alternate the two; records/s, and the ratio searchable/plain (median of the rounds).
  Target (issue #19): >= 0.8.
- **reindex**: a change of the declaration (``searchable_fields`` without the author): on SQLite
  the PATCH rewrites the collection's FTS5 rows in its transaction (its duration, per million
  records); on PostgreSQL the PATCH returns at once and the new index is built concurrently
  afterwards (the PATCH's duration, then the build's). The three queries must find the same
  records before and after.

    python benchmarks/search.py [--records 100000] [--backends sqlite,postgresql]
        [--requests 50] [--posts 300] [--rounds 3]

Needs PostgreSQL and Redis as the test suite expects them (``BENBEN_TEST_POSTGRESQL_URL``,
``BENBEN_TEST_REDIS_URL``) for the postgresql backend. Not part of the test run (the smoke test
tests/test_benchmarks_search.py runs it at a few hundred records).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from request_cpu import prepare  # noqa: E402
from search_corpus import Corpus  # noqa: E402
from wrk_support import PASSWORD, benben_environment, maintain, psql  # noqa: E402

COLLECTIONS = "/api/v1/collections"
SEARCHABLE = ["title", "body", "author"]
SCHEMA = {
    "type": "object",
    "required": ["title", "body"],
    "properties": {
        "title": {"type": "string", "maxLength": 300},
        "body": {"type": "string", "maxLength": 5000},
        "author": {"type": "string", "maxLength": 100},
        "year": {"type": "integer"},
    },
}
COMMON, PHRASE = "water", '"machine learning"'  # in ~20% and ~2% of records
BATCH = 500  # records per POST /api/v1/batch
PAGE = 20
BUDGET = 30.0  # seconds of requests per query, at most (beyond 5 requests)


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """``env`` in os.environ (where benben.main reads its settings), and no other BENBEN_*
    variable, for one backend's run."""
    saved = dict(os.environ)
    for name in [name for name in os.environ if name.startswith("BENBEN_")]:
        del os.environ[name]
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Bench:
    """One backend: Benben in this process and its administrator's headers."""

    def __init__(self, backend: str) -> None:
        import webtest

        from benben import main

        self.backend = backend
        self.app = webtest.TestApp(main({}))
        login = {"username": "admin", "password": PASSWORD}
        token = self.app.post_json("/api/v1/auth/login", login).json["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def close(self) -> None:
        from benben.worker.embedded import stop_embedded

        stop_embedded(self.app.app.registry)

    def create(self, cid: str, searchable: list[str]) -> None:
        body = {"id": cid, "schema": SCHEMA, "searchable_fields": searchable,
                "search_language": "english"}  # fmt: skip
        self.app.post_json(COLLECTIONS, body, headers=self.headers)
        self.wait_for_index(cid)

    def wait_for_index(self, cid: str, timeout: float = 3600) -> float:
        """PostgreSQL: seconds until the collection's search vectors are ready for its
        declaration, their index built (the embedded worker's task after the change commits),
        or until it has no index when it declares nothing; else 0."""
        if self.backend != "postgresql":
            return 0.0
        from benben.data.search_index import search_index_name

        shown = self.app.get(f"{COLLECTIONS}/{cid}", headers=self.headers).json
        schema = os.environ["BENBEN_BENCH_SCHEMA"]
        if shown["searchable_fields"]:
            query = (
                f"SELECT count(*) FROM {schema}.benben_search_vectors "  # noqa: S608 - our own names
                f"WHERE collection_id = '{cid}' AND ready"
            )
        else:
            query = (
                "SELECT count(*) FROM pg_class c "  # noqa: S608 - our own names
                f"WHERE c.relnamespace = '{schema}'::regnamespace "
                f"AND c.relname = '{search_index_name(cid)}'"
            )
        wanted = "1" if shown["searchable_fields"] else "0"
        start = time.perf_counter()
        while psql(query).strip() != wanted:
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"the search index of {cid} was not built in {timeout:.0f} s")
            time.sleep(0.05)
        return time.perf_counter() - start

    def load(self, cid: str, records: Iterator[dict[str, Any]], first: int = 0) -> int:
        count, batch = first, []
        for data in records:
            path = f"{COLLECTIONS}/{cid}/records/s{count}"
            batch.append({"method": "PUT", "path": path, "body": {"data": data}})
            count += 1
            if len(batch) == BATCH:
                self._batch(batch)
                batch = []
        if batch:
            self._batch(batch)
        return count

    def _batch(self, requests: list[dict[str, Any]]) -> None:
        answer = self.app.post_json("/api/v1/batch", {"requests": requests}, headers=self.headers)
        failed = [r for r in answer.json["responses"] if r["status"] >= 400]
        if failed:
            raise SystemExit(f"batch write failed: {failed[0]}")

    def search(self, cid: str, q: str, sort: str | None, requests: int) -> dict[str, float]:
        """p50/p95 ms of the first page of ``_q=q`` (and ``_sort``), and the records matching."""
        params = {"_q": q, "_limit": str(PAGE)}
        if sort:
            params["_sort"] = sort
        url = f"{COLLECTIONS}/{cid}/records?{urllib.parse.urlencode(params)}"
        headers = {**self.headers, "Cache-Control": "no-cache"}
        hits = self.count(cid, q)
        if not hits:
            raise SystemExit(f"no record matches {q!r}")
        for _ in range(3):  # warm-up: connections, plans, pages in memory
            self.app.get(url, headers=headers)
        times: list[float] = []
        began = time.perf_counter()
        # At least 5 requests; no more than BUDGET seconds of them (a slow query takes long).
        while len(times) < requests and (len(times) < 5 or time.perf_counter() - began < BUDGET):
            start = time.perf_counter()
            self.app.get(url, headers=headers)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, round(len(times) * 0.95) - 1)]
        return {"p50": statistics.median(times), "p95": p95, "hits": hits,
                "requests": len(times)}  # fmt: skip

    def count(self, cid: str, q: str) -> int:
        """The records ``_q=q`` finds."""
        url = f"{COLLECTIONS}/{cid}/records?{urllib.parse.urlencode({'_q': q, '_count': 'true'})}"
        return self.app.get(url, headers={**self.headers, "Cache-Control": "no-cache"}).json[
            "total"
        ]

    def posts(self, cid: str, bodies: list[dict[str, Any]]) -> float:
        """Records/s of sequential POSTs of ``bodies`` into ``cid``."""
        url = f"{COLLECTIONS}/{cid}/records"
        start = time.perf_counter()
        for data in bodies:
            self.app.post(url, json.dumps({"data": data}), headers={
                **self.headers, "Content-Type": "application/json"})  # fmt: skip
        return len(bodies) / (time.perf_counter() - start)

    def reindex(self, cid: str) -> dict[str, float]:
        """Seconds a declaration change (the author no longer searched) takes, and the index
        build after it."""
        start = time.perf_counter()
        url = f"{COLLECTIONS}/{cid}"
        self.app.patch_json(url, {"searchable_fields": SEARCHABLE[:2]}, headers=self.headers)
        change = time.perf_counter() - start
        # A search meanwhile: right, but computing each record's text on PostgreSQL.
        start = time.perf_counter()
        self.count(cid, COMMON)
        during = time.perf_counter() - start
        return {"change": change, "during": during, "build": during + self.wait_for_index(cid)}


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"backend": backend}
    with tempfile.TemporaryDirectory() as tmp, benben_environment(backend, tmp) as env:
        env.update(BENBEN_RATELIMIT_ENABLED="false", BENBEN_DATA_BATCH_MAX_OPERATIONS=str(BATCH))
        env["XDG_STATE_HOME"] = tmp  # whatever Benben records of its data directory
        with environment(env):
            prepare(env)
            bench = Bench(backend)
            try:
                figures.update(measure(bench, env, args))
            finally:
                bench.close()
    return figures


def measure(bench: Bench, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    corpus = Corpus()
    bench.create("docs", SEARCHABLE)
    bench.create("plain", [])
    start = time.perf_counter()
    loaded = bench.load("docs", corpus.records(args.records))
    load_seconds = time.perf_counter() - start
    maintain(env)  # VACUUM (ANALYZE) where autovacuum is off: GIN pending lists merged too
    print(f"\n{bench.backend}: {loaded} records loaded in {load_seconds:.1f} s "
          f"({loaded / load_seconds:.0f} records/s through POST /api/v1/batch)")  # fmt: skip
    figures: dict[str, Any] = {"loaded": loaded, "load_seconds": load_seconds, "search": {}}
    queries = {"common": COMMON, "rare": corpus.rare_word(args.records), "phrase": PHRASE}
    print(f"{'query':28} {'sort':8} {'hits':>7} {'p50 ms':>8} {'p95 ms':>8} {'n':>4}")
    for label, q in queries.items():
        for sort in (None, "-_rank"):
            result = bench.search("docs", q, sort, args.requests)
            figures["search"][label, sort or "default"] = result
            print(f"{label + ' ' + q:28} {sort or 'default':8} {result['hits']:7d} "
                  f"{result['p50']:8.1f} {result['p95']:8.1f} {result['requests']:4d}")  # fmt: skip
    if args.explain and bench.backend == "postgresql":
        explain(env, queries)
    p50s = [result["p50"] for result in figures["search"].values()]
    print(f"worst p50 {max(p50s):.1f} ms (target <= 20 ms); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    # The same bodies into both collections, each round; the order of the two alternates.
    ratios, rates = [], {"docs": [], "plain": []}
    for round_ in range(args.rounds):
        bodies = list(corpus.records(args.posts))
        order = ("plain", "docs") if round_ % 2 == 0 else ("docs", "plain")
        for cid in order:
            rates[cid].append(bench.posts(cid, bodies))
        ratios.append(rates["docs"][-1] / rates["plain"][-1])
    figures["records"] = loaded + args.rounds * args.posts
    searchable, plain = statistics.median(rates["docs"]), statistics.median(rates["plain"])
    figures["post"] = {"searchable": searchable, "plain": plain,
                       "ratio": statistics.median(ratios), "ratios": ratios}  # fmt: skip
    print(f"POST records/s: searchable {searchable:.0f}, plain {plain:.0f}, ratio "
          f"{statistics.median(ratios):.3f} (range {min(ratios):.3f}-{max(ratios):.3f}; "
          f"target >= 0.8)")  # fmt: skip
    # Reindexed without the author (the words searched are in titles and bodies only), the
    # queries find the same records.
    before = {label: bench.count("docs", q) for label, q in queries.items()}
    reindex = bench.reindex("docs")
    per_million = (reindex["change"] + reindex["build"]) * 1_000_000 / figures["records"]
    after = {label: bench.count("docs", q) for label, q in queries.items()}
    if after != before:
        raise SystemExit(f"the reindexed collection finds {after}, not {before}")
    figures["reindex"] = {**reindex, "per_million": per_million, "hits": after}
    change, build = reindex["change"], reindex["build"]
    print(f"reindex of {figures['records']} records: the change {change:.2f} s, the index "
          f"build after it {build:.2f} s ({per_million:.0f} s per million); a search "
          f"meanwhile {reindex['during']:.2f} s")  # fmt: skip
    return figures


def explain(env: dict[str, str], queries: dict[str, str]) -> None:
    """PostgreSQL's plans of the first pages (the shape of the API's statements, without the
    permission and tombstone terms an administrator's list leaves out)."""
    schema = env["BENBEN_BENCH_SCHEMA"]
    size = psql(
        f"SELECT round(avg(pg_column_size(search_vector))), "  # noqa: S608 - our own names
        f"pg_size_pretty(pg_relation_size('{schema}.benben_records')) "
        f"FROM {schema}.benben_records WHERE collection_id = 'docs'"
    ).strip()
    print(f"stored vector: bytes per record (average) | records table: {size}")
    for label, q in queries.items():
        for order in ("last_modified DESC, id DESC", "rank DESC, last_modified DESC, id DESC"):
            literal = q.replace("'", "''")
            tsquery = f"websearch_to_tsquery('english'::regconfig, '{literal}')"
            sql = (
                f"SET search_path = {schema}; EXPLAIN (ANALYZE, COSTS OFF) "  # noqa: S608 - ours
                f"SELECT id, ts_rank(search_vector, {tsquery})::float8 AS rank "
                f"FROM benben_records WHERE collection_id = 'docs' AND NOT deleted "
                f"AND search_vector @@ {tsquery} ORDER BY {order} LIMIT {PAGE + 1}"
            )
            print(f"-- {label} {q}, ORDER BY {order}\n{psql(sql)}")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=50, help="per query and sort")
    parser.add_argument("--posts", type=int, default=300, help="per collection and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--explain", action="store_true", help="PostgreSQL's plans, analyzed")
    args = parser.parse_args(argv)
    return [run_backend(backend, args) for backend in args.backends.split(",") if backend]


if __name__ == "__main__":
    main()
