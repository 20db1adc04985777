"""The hand-off under a real `benben serve`, in one process and with two Gunicorn workers: a
plugin's streams leave the worker threads (one thread each serves many streams and a request),
and SIGTERM ends every stream with a "shutdown" end frame before the process exits."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from benben.testing_streams import SSEClient, open_sse

pytestmark = pytest.mark.slow

PLUGIN = "streamprobe"
PLUGIN_CODE = """
import os

from benben.plugin import PluginMetadata
from benben.realtime.handoff import stream_response
from benben.realtime.sse import frame
from benben.realtime.stream import Stream

benben_plugin = PluginMetadata(api=1, description="streams for the transport's tests")


def events(request):
    stream = Stream(max_buffered=1 << 20, heartbeat_seconds=30)
    stream.push(frame(str(os.getpid()), event="pid"))
    request.registry.streamprobe_streams.append(stream)
    return stream_response(request, stream)


def push(request):
    sent = sum(s.push(frame(request.params["data"])) for s in request.registry.streamprobe_streams)
    return {"pid": os.getpid(), "sent": sent}


def includeme(config):
    config.registry.streamprobe_streams = []
    config.add_route("events", "/events")
    config.add_view(events, route_name="events")
    config.add_route("push", "/push")
    config.add_view(push, route_name="push", renderer="json")
"""
START_TIMEOUT = 60.0
PROMPT = 10.0
STREAMS = 30


def install_probe(site: Path) -> None:
    (site / PLUGIN).mkdir(parents=True)
    (site / PLUGIN / "__init__.py").write_text(textwrap.dedent(PLUGIN_CODE))
    dist_info = site / f"{PLUGIN}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {PLUGIN}\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[benben.plugins]\n{PLUGIN} = {PLUGIN}\n")


@contextlib.contextmanager
def serve(tmp_path: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    site = tmp_path / "site"
    install_probe(site)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BENBEN_")}
    environ.update(
        PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        XDG_STATE_HOME=str(tmp_path / "state"),
        BENBEN_DATA_DIR=str(tmp_path / "var"),
        BENBEN_CACHE_BACKEND="null",  # several processes: a cache they share, or none
        BENBEN_RATELIMIT_ENABLED="false",
    )
    command = [sys.executable, "-m", "benben.cli", "serve", "--port", "0", "--threads", "1"]
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [*command, *args], cwd=tmp_path, env=environ, stdout=subprocess.PIPE, stderr=log, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "serving on" in line, (tmp_path / "server.log").read_text()
        base = line.split("serving on ", 1)[1].split()[0].rstrip(",")
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)
        assert process.stdout is not None
        process.stdout.close()
        log.close()


def get_json(url: str) -> dict[str, int]:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(url, timeout=PROMPT) as response:  # noqa: S310
                return dict(json.loads(response.read()))
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def open_streams(base: str) -> list[SSEClient]:
    clients = [open_sse(f"{base}/{PLUGIN}/events", timeout=PROMPT) for _ in range(STREAMS)]
    for client in clients:
        assert client.status == 200
    return clients


def assert_shutdown(process: subprocess.Popen[str], clients: list[SSEClient]) -> None:
    process.send_signal(signal.SIGTERM)
    for client in clients:
        with client:
            events = client.events(PROMPT)
        assert events[-1]["event"] == "end"
        assert json.loads(events[-1]["data"]) == {"reason": "shutdown"}
    assert process.wait(30) == 0


def test_one_process_serves_streams_and_requests_with_one_thread(tmp_path: Path) -> None:
    with serve(tmp_path, "--workers", "1") as (process, base):
        get_json(f"{base}/{PLUGIN}/push?data=warmup")
        clients = open_streams(base)
        pids = {int(c.next_event(PROMPT)["data"]) for c in clients}
        assert pids == {process.pid}
        answer = get_json(f"{base}/{PLUGIN}/push?data=news")  # the one thread is free
        assert answer["sent"] == STREAMS
        assert all(c.next_event(PROMPT)["data"] == "news" for c in clients)
        assert_shutdown(process, clients)
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def test_each_gunicorn_worker_hands_its_streams_off(tmp_path: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover
        pytest.skip("Gunicorn runs on Unix only")
    with serve(tmp_path, "--workers", "2") as (process, base):
        get_json(f"{base}/{PLUGIN}/push?data=warmup")
        clients = open_streams(base)
        by_pid: dict[int, list[SSEClient]] = {}
        for client in clients:
            by_pid.setdefault(int(client.next_event(PROMPT)["data"]), []).append(client)
        assert process.pid not in by_pid  # served by the workers, never the master
        # Each worker's single thread is free: pushes reach its streams while they are open.
        reached: set[int] = set()
        deadline = time.monotonic() + START_TIMEOUT
        while set(by_pid) - reached and time.monotonic() < deadline:
            answer = get_json(f"{base}/{PLUGIN}/push?data=from-{len(reached)}")
            assert answer["sent"] == len(by_pid[answer["pid"]])
            for client in by_pid[answer["pid"]]:
                assert client.next_event(PROMPT)["data"] == f"from-{len(reached)}"
            reached.add(answer["pid"])
        assert reached == set(by_pid)
        assert_shutdown(process, clients)
    assert "Traceback" not in (tmp_path / "server.log").read_text()
