"""`benben serve --workers 2` as real processes on PostgreSQL + Redis: two workers serve, a killed
or hung one is replaced, SIGHUP swaps them without a failed request, SIGTERM lets a request in
flight finish; and the refusal of several processes over the in-process cache."""

from __future__ import annotations

import contextlib
import os
import signal
import textwrap
import threading
import time
import urllib.error
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import (
    Server,
    benben_command,
    clean_environ,
    get,
    port_of,
    redis_keys_deleted,
    run_benben,
)

from benben.testing import postgresql_schema, require_postgresql, require_redis

pytestmark = pytest.mark.slow

PLUGIN = "serveprobe"
PLUGIN_CODE = """
import ctypes, os, time
from benben.plugin import PluginMetadata

benben_plugin = PluginMetadata(api=1, description="which process answers, slowly or never")


def pid(request):
    time.sleep(float(request.params.get("sleep", "0")))
    return {"pid": os.getpid()}


def hang(request):
    # What a deadlocked extension does: sleeps holding the GIL, so the worker's main loop
    # (its heartbeat to the master) stops too.
    ctypes.PyDLL(None).sleep(120)
    return {}


def includeme(config):
    config.add_route("pid", "/pid")
    config.add_view(pid, route_name="pid", renderer="json")
    config.add_route("hang", "/hang")
    config.add_view(hang, route_name="hang", renderer="json")
"""


def install_probe(site: Path) -> None:
    (site / PLUGIN).mkdir(parents=True)
    (site / PLUGIN / "__init__.py").write_text(textwrap.dedent(PLUGIN_CODE))
    dist_info = site / f"{PLUGIN}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {PLUGIN}\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[benben.plugins]\n{PLUGIN} = {PLUGIN}\n")


@contextlib.contextmanager
def workers_server(tmp_path: Path, **environ: str) -> Iterator[tuple[Server, str]]:
    """``benben serve --workers 2`` with the probe plugin; yields the server and its base URL."""
    database, cache = require_postgresql(), require_redis()
    prefix = f"test_workers_{uuid.uuid4().hex[:8]}:"
    site = tmp_path / "site"
    install_probe(site)
    with postgresql_schema(database) as url, redis_keys_deleted(cache, prefix):
        env = clean_environ(
            PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
            BENBEN_DATA_DIR=str(tmp_path / "var"),
            BENBEN_DATABASE_URL=url,
            BENBEN_DATABASE_AUTO_MIGRATE="true",
            BENBEN_CACHE_BACKEND="redis",
            BENBEN_CACHE_URL=cache,
            BENBEN_CACHE_PREFIX=prefix,
            BENBEN_SERVER_GRACEFUL_TIMEOUT="20",
            BENBEN_RATELIMIT_ENABLED="false",  # these tests send requests as fast as served
            **environ,
        )
        command = benben_command("serve", "--port", "0", "--workers", "2", "--threads", "2")
        server = Server(command, tmp_path, env)
        try:
            line = server.listen_line()
            assert "(2 workers x 2 threads)" in line, line
            base = f"http://127.0.0.1:{port_of(line)}"
            assert server.wait_ready(f"{base}/health/ready")[0] == 200
            yield server, base
        finally:
            server.stop(signal.SIGQUIT)


def workers_of(server: Server) -> set[int]:
    pid = server.process.pid
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def wait_for_workers(server: Server, replacing: set[int], timeout: float = 30.0) -> set[int]:
    """Two workers again, none of them in ``replacing``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = workers_of(server)
        if len(pids) == 2 and not pids & replacing:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"workers {workers_of(server)}, expected 2 replacing {replacing}")


def wait_for_count(server: Server, count: int, timeout: float = 30.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while len(pids := workers_of(server)) != count:
        if time.monotonic() > deadline:
            raise AssertionError(f"workers {pids}, expected {count}")
        time.sleep(0.1)
    return pids


def answering_pid(base: str, sleep: float = 0) -> int:
    status, body = get(f"{base}/{PLUGIN}/pid?sleep={sleep}")
    assert status == 200, body
    return int(body.decode().split(":")[1].strip(" }"))


class Traffic:
    """Requests one after another on a thread, counting those that fail."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.served, self.failed = 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                answering_pid(self.base)
                self.served += 1
            except (OSError, AssertionError) as exc:
                self.failed.append(repr(exc))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def test_two_workers_serve_and_a_killed_or_hung_one_is_replaced(tmp_path: Path) -> None:
    with workers_server(tmp_path, BENBEN_SERVER_TIMEOUT="8") as (server, base):
        pids = wait_for_workers(server, set())
        # Both processes serve (the kernel hands connections to either): a worker whose pid is
        # known may still be building its app, so ask until both answered, within a deadline.
        seen: set[int] = set()
        deadline = time.monotonic() + 30
        while seen != pids and time.monotonic() < deadline:
            seen.add(answering_pid(base))
        assert seen == pids

        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        pids = wait_for_workers(server, {victim})
        assert all(answering_pid(base) in pids for _ in range(10))

        # A request that hangs its whole process: the master kills it after the timeout.
        hung: list[BaseException] = []

        def hang() -> None:
            try:
                get(f"{base}/{PLUGIN}/hang")
            except (OSError, urllib.error.URLError) as exc:
                hung.append(exc)

        caller = threading.Thread(target=hang)
        caller.start()
        time.sleep(1)
        still = {answering_pid(base) for _ in range(20)}  # the other worker answers meanwhile
        (hung_pid,) = pids - still
        wait_for_workers(server, {hung_pid})
        caller.join(timeout=30)
        assert hung, "the hung request was answered"
        assert all(answering_pid(base) for _ in range(10))
        assert "WORKER TIMEOUT" in server.logs()

        # Ctrl-C (SIGINT) is graceful too: the request in flight is answered, then exit 0.
        answers: list[int] = []
        slow = threading.Thread(target=lambda: answers.append(answering_pid(base, sleep=3)))
        slow.start()
        time.sleep(1)
        server.process.send_signal(signal.SIGINT)
        slow.join(timeout=30)
        assert answers, "the request in flight was cut"
        assert server.process.wait(timeout=30) == 0


def test_sighup_swaps_the_workers_and_sigterm_finishes_the_request_in_flight(
    tmp_path: Path,
) -> None:
    with workers_server(tmp_path) as (server, base):
        before = wait_for_workers(server, set())
        traffic = Traffic(base)
        try:
            time.sleep(0.5)
            server.process.send_signal(signal.SIGHUP)
            after = wait_for_workers(server, before)
            time.sleep(0.5)
        finally:
            traffic.stop()
        assert traffic.failed == []
        assert traffic.served > 10
        assert answering_pid(base) in after

        server.process.send_signal(signal.SIGTTIN)  # one more process, as Gunicorn gives it
        wait_for_count(server, 3)
        server.process.send_signal(signal.SIGTTOU)
        after = wait_for_count(server, 2)

        answers: list[int] = []
        slow = threading.Thread(target=lambda: answers.append(answering_pid(base, sleep=3)))
        slow.start()
        time.sleep(1)
        server.process.send_signal(signal.SIGTERM)
        slow.join(timeout=30)
        assert answers, "the request in flight was cut"
        assert answers[0] in after  # answered by a worker that was stopping
        assert server.process.wait(timeout=30) == 0
        assert "server stopped" in server.logs()


@pytest.mark.parametrize(
    ("args", "environ"),
    [(("--workers", "2"), {}), ((), {"BENBEN_SERVER_WORKERS": "3"})],
    ids=["option", "environment"],
)
def test_several_workers_over_the_memory_cache_are_refused(
    tmp_path: Path, args: tuple[str, ...], environ: dict[str, str]
) -> None:
    result = run_benben("serve", "--port", "0", *args, cwd=tmp_path, env=clean_environ(**environ))
    assert result.returncode == 2, result.stderr
    assert "benben.server.workers" in result.stderr
    assert "benben.cache.backend is memory" in result.stderr
    assert not (tmp_path / "var").exists()  # refused before anything was created
