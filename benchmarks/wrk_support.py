"""Running ``wrk`` and reading its figures, and what the serving benchmarks share: a free port,
waiting for a server, a PostgreSQL schema per server, the seeded collection and the wrk scripts
of the data API's hot paths."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

POSTGRESQL = os.environ.get(
    "BENBEN_TEST_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS = os.environ.get("BENBEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "bench-password-1234"  # noqa: S105 - a throwaway benchmark account

SCHEMA = {
    "type": "object",
    "required": ["title", "price"],
    "properties": {
        "title": {"type": "string", "maxLength": 200},
        "price": {"type": "number", "minimum": 0},
        "category": {"type": "string", "enum": ["a", "b", "c", "d"]},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}
RECORD = {"title": "A benchmark record", "price": 12.5, "category": "b", "tags": ["x", "y"]}
# The hot paths: (label, path, kind of wrk script).
PATHS = {
    "get": ("GET one record", "/api/v1/collections/bench/records/r7", "get"),
    "page": ("GET 100-record page", "/api/v1/collections/bench/records?_limit=100&_sort=price",
             "get"),
    "post": ("POST validated record", "/api/v1/collections/bench/records", "post"),
    "patch": ("PATCH with If-Match", "/api/v1/collections/bench/records/p1", "patch"),
}  # fmt: skip
WRK_THREADS = WRK_CONNECTIONS = 16  # PATCH gives each wrk thread (one connection) its record


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")


def run_wrk(
    url: str, duration: int, script: str | None = None, *, threads: int = 1, connections: int = 16
) -> dict[str, float]:
    """req/s, p50 and p99 (ms) and the count of non-2xx/3xx answers of one ``wrk`` run."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script:
        command += ["-s", script]
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": _latency_ms(out, "50%"),
        "p99": _latency_ms(out, "99%"),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def _latency_ms(out: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen[Any], timeout: float = 90.0) -> None:
    """Until ``url`` answers 200; fails at once if ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}) before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.3)
    raise SystemExit(f"server at {url} did not come up within {timeout:.0f} s")


def psql(sql: str) -> str:
    result = subprocess.run(
        ["psql", POSTGRESQL, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"psql failed: {result.stderr.strip()}")
    return result.stdout


@contextlib.contextmanager
def benben_environment(backend: str, data_dir: str) -> Iterator[dict[str, str]]:
    """BENBEN_* variables of one server: its own PostgreSQL schema and Redis prefix (dropped
    afterwards), the first administrator, the rate limiter on with limits no run reaches."""
    tag = f"bench_{uuid.uuid4().hex[:10]}"
    env = {
        "BENBEN_DATA_DIR": data_dir,
        "BENBEN_LOGGING_LEVEL": "warning",
        "BENBEN_ADMIN_PASSWORD": PASSWORD,
        "BENBEN_DATA_MAX_PAGE_SIZE": "1000",
        "BENBEN_RATELIMIT_DEFAULT": "100000000/minute",
        "BENBEN_RATELIMIT_GROUPS": "auth=100000000/minute write=100000000/minute",
    }
    if backend != "postgresql":
        yield env
        return
    psql(f'CREATE SCHEMA "{tag}"')
    separator = "&" if "?" in POSTGRESQL else "?"
    env.update(
        BENBEN_DATABASE_URL=f"{POSTGRESQL}{separator}options=-csearch_path%3D{tag}",
        BENBEN_CACHE_BACKEND="redis",
        BENBEN_CACHE_URL=REDIS,
        BENBEN_CACHE_PREFIX=f"{tag}:",
        BENBEN_BENCH_SCHEMA=tag,  # not a setting: which schema maintain() vacuums
    )
    try:
        yield env
    finally:
        psql(f'DROP SCHEMA IF EXISTS "{tag}" CASCADE')


def maintain(env: dict[str, str]) -> None:
    """What autovacuum does on a production server (data_api.py's Instance.maintain says why);
    nothing when autovacuum is on or the database is SQLite."""
    schema = env.get("BENBEN_BENCH_SCHEMA")
    if not schema or psql("SHOW autovacuum").strip() == "on":
        return
    tables = ("benben_collections", "benben_records", "benben_record_grants", "benben_history")
    psql("VACUUM (ANALYZE) " + ", ".join(f'"{schema}".{name}' for name in tables))


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    # Loopback URLs the benchmarks build themselves.
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
        text = response.read()
    return json.loads(text) if text else None


def login_and_seed(base: str) -> str:
    """The administrator's access token, after seeding collection ``bench``: 200 records for
    the reads, one per wrk thread for PATCH."""
    login = call(base, "POST", "/api/v1/auth/login", {"username": "admin", "password": PASSWORD})
    token = login["access_token"]
    collection = {"id": "bench", "schema": SCHEMA, "indexed_fields": ["price", "category"]}
    call(base, "POST", "/api/v1/collections", collection, token)
    records = [(f"r{i}", {**RECORD, "price": i, "title": f"record {i}"}) for i in range(200)]
    records += [(f"p{i}", RECORD) for i in range(1, WRK_THREADS + 1)]
    for body in batch_bodies("bench", records):
        call(base, "POST", "/api/v1/batch", body, token)
    return token


def batch_bodies(collection: str, records: list[tuple[str, Any]]) -> Iterator[dict[str, Any]]:
    """``POST /api/v1/batch`` bodies writing ``(id, data)`` records, 50 a batch."""
    for start in range(0, len(records), 50):
        yield {
            "requests": [
                {"method": "PUT", "path": f"/api/v1/collections/{collection}/records/{rid}",
                 "body": {"data": data}}
                for rid, data in records[start : start + 50]
            ]
        }  # fmt: skip


def wrk_script(kind: str, token: str) -> str:
    """The Lua script of a hot path: the bearer token, and the body or ETag it needs."""
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    if kind == "post":
        body = json.dumps({"data": RECORD})
        return auth + textwrap.dedent(
            f"""
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            wrk.body = {json.dumps(body)}
            """
        )
    if kind == "patch":
        # One record per wrk thread (one connection each), patched with the ETag it last saw.
        return auth + textwrap.dedent(
            """
            local counter = 0
            function setup(thread)
              counter = counter + 1
              thread:set("rid", "p" .. counter)
            end
            local etag = nil
            function request()
              local headers = {["Content-Type"] = "application/merge-patch+json",
                               ["Authorization"] = wrk.headers["Authorization"]}
              if etag then headers["If-Match"] = etag end
              return wrk.format("PATCH", "/api/v1/collections/bench/records/" .. rid, headers,
                                '{"data": {"price": 3}}')
            end
            function response(status, headers, body)
              etag = headers["ETag"]
            end
            """
        )
    return auth
