"""``benben serve --workers 2`` as real processes on PostgreSQL + Redis: one scrape of
``/metrics`` counts the requests of both workers, whichever answers it, and of a killed one; the
shared directory is private while the server runs and gone after it stops."""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import stat
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from metrics_support import Scrape
from prometheus_client.multiprocess import MultiProcessCollector

from benben.testing import postgresql_schema, require_postgresql, require_redis

pytestmark = [pytest.mark.slow, pytest.mark.postgresql, pytest.mark.redis]

START_TIMEOUT = 30.0
VERSION_SERIES = {"route": "/version", "method": "GET", "status": "200"}


@contextlib.contextmanager
def two_workers(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The server (its temporary directory: ``tmp_path/tmp``) and its base URL."""
    database, cache = require_postgresql(), require_redis()
    prefix = f"test_metrics_{uuid.uuid4().hex[:8]}:"
    (tmp_path / "tmp").mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BENBEN_")}
    with postgresql_schema(database) as url, (tmp_path / "server.log").open("w") as log:
        environ.update(
            TMPDIR=str(tmp_path / "tmp"), BENBEN_DATA_DIR=str(tmp_path / "var"),
            BENBEN_DATABASE_URL=url, BENBEN_DATABASE_AUTO_MIGRATE="true",
            BENBEN_CACHE_BACKEND="redis", BENBEN_CACHE_URL=cache, BENBEN_CACHE_PREFIX=prefix,
            BENBEN_RATELIMIT_ENABLED="false", BENBEN_METRICS_ENABLED="open",
        )  # fmt: skip
        command = [sys.executable, "-m", "benben.cli", "serve", "--port", "0", "--workers", "2"]
        server = subprocess.Popen(
            command, env=environ, stdout=subprocess.PIPE, stderr=log, text=True
        )
        try:
            assert server.stdout is not None
            with selectors.DefaultSelector() as selector:
                selector.register(server.stdout, selectors.EVENT_READ)
                selector.select(timeout=START_TIMEOUT)
            line = server.stdout.readline()
            match = re.search(r"serving on http://127\.0\.0\.1:(\d+) ", line)
            assert match, (line, (tmp_path / "server.log").read_text())
            yield server, f"http://127.0.0.1:{match.group(1)}"
        finally:
            if server.poll() is None:
                server.kill()
            server.wait(timeout=15)
            server.stdout.close()  # type: ignore[union-attr]
            client = redis.Redis.from_url(cache)
            with contextlib.closing(client):
                keys = list(client.scan_iter(match=prefix + "*", count=1000))
                if keys:
                    client.delete(*keys)


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - http only
        assert response.status == 200
        return response.read()


def workers_of(server: subprocess.Popen[str]) -> set[int]:
    pid = server.pid
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def wait_for_workers(server: subprocess.Popen[str], replacing: set[int]) -> set[int]:
    deadline = time.monotonic() + START_TIMEOUT
    while len(pids := workers_of(server)) != 2 or pids & replacing:
        assert time.monotonic() < deadline, f"workers {pids}, replacing {replacing}"
        time.sleep(0.1)
    return pids


def counted_by(directory: Path, pid: int) -> float:
    """The /version requests worker ``pid`` counted, from its own file alone."""
    path = directory / f"counter_{pid}.db"
    if not path.exists():
        return 0
    return sum(
        sample.value
        for family in MultiProcessCollector.merge([str(path)])
        for sample in family.samples
        if sample.name == "benben_http_requests_total" and sample.labels == VERSION_SERIES
    )


def test_one_scrape_counts_every_workers_requests(tmp_path: Path) -> None:
    with two_workers(tmp_path) as (server, base):
        pids = wait_for_workers(server, set())
        (directory,) = (tmp_path / "tmp").iterdir()
        assert directory.name.startswith("benben-metrics-")
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700

        # Requests side by side until both workers have answered some (the kernel hands each
        # connection to either).
        sent = 0
        with ThreadPoolExecutor(4) as pool:
            while not all(counted_by(directory, pid) for pid in pids):
                assert sent < 2000, "one worker answered every request"
                list(pool.map(lambda _: get(f"{base}/version"), range(20)))
                sent += 20
        own = [counted_by(directory, pid) for pid in pids]
        assert sum(own) == sent  # each worker alone counted less than every request
        assert all(0 < count < sent for count in own)

        for _ in range(10):  # scrapes go to either worker too: each tells the sum
            scraped = Scrape(get(f"{base}/metrics").decode())
            assert scraped.value("benben_http_requests_total", **VERSION_SERIES) == sent
            assert scraped.value("benben_http_request_duration_seconds_count",
                                 route="/version") == sent  # fmt: skip

        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        replaced = wait_for_workers(server, {victim})
        for _ in range(4):  # the new worker, or the other, still counts the killed one's
            scraped = Scrape(get(f"{base}/metrics").decode())
            assert scraped.value("benben_http_requests_total", **VERSION_SERIES) == sent
            assert scraped.value("benben_http_requests_in_flight") == 0
        assert not (directory / f"gauge_livesum_{victim}.db").exists()  # marked dead
        (survivor,) = pids & replaced
        assert (directory / f"gauge_livesum_{survivor}.db").exists()

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert not directory.exists()
