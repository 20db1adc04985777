"""REST throughput with and without 1,000 change-stream subscribers on one instance (issue #19:
streams must not hold waitress's threads; target >= 0.9 of the throughput without them).

One ``benben serve`` (PostgreSQL + Redis, as in production; ``--workers`` as benben serve picks
them: one per CPU) serves a cached record GET to ``wrk`` for ``--duration`` seconds without
subscribers, then ``--rounds`` times: with ``--subscribers`` streams of
``GET /api/v1/changes?collections=bench`` open, then without them again (the subscribers
closed). Each loaded run is compared with the mean of the two runs around it, so that drift
cancels out. A writer POSTs ``--rate`` records a second to the same collection throughout, so
that the subscribers' cost is all that differs; every subscriber receives every change. The
subscribers are one thread of this process reading every socket through one selector.

Prints the throughputs and the ratios (median and range), per round the subscribers still
connected at the end, the change events received against those written, the server's resident
memory (all its processes) and this process's CPU time spent reading the streams.

    python benchmarks/realtime_subscribers.py [--subscribers 1000] [--duration 10] [--rate 20]
                                              [--rounds 3] [--workers auto] [--threads 4]

Needs ``wrk``, PostgreSQL and Redis (``BENBEN_TEST_POSTGRESQL_URL``, ``BENBEN_TEST_REDIS_URL``).
"""

from __future__ import annotations

import argparse
import os
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wrk_support import (
    PATHS,
    benben_environment,
    call,
    free_port,
    login_and_seed,
    require_wrk,
    run_wrk,
    wait_until_up,
    wrk_script,
)

BENBEN = str(Path(sys.executable).with_name("benben"))
TARGET = 0.9
WRK_THREADS = 2  # one per core: wrk shares the machine with the server and the subscribers
WRK_CONNECTIONS = 16
READ_PAUSE = 0.1  # seconds between two reads of the subscribers' sockets


class Subscribers(threading.Thread):
    """``count`` event-stream connections, read by one thread: per connection the change
    events received (frames with data and no ``event:``), and whether the stream ended."""

    def __init__(self, base: str, path: str, token: str, count: int) -> None:
        super().__init__(daemon=True)
        host, port = base.removeprefix("http://").split(":")
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
        self.selector = selectors.DefaultSelector()
        self.changes = [0] * count
        self.ended = [False] * count
        self.statuses: list[int | None] = [None] * count
        self._pending: list[bytes] = [b""] * count
        self._stopping = threading.Event()
        self.sockets: list[socket.socket] = []
        for index in range(count):
            sock = socket.create_connection((host, int(port)), timeout=30)
            sock.sendall(request)
            sock.setblocking(False)
            self.sockets.append(sock)
            self.selector.register(sock, selectors.EVENT_READ, index)
        self.cpu = 0.0

    def run(self) -> None:
        started = time.thread_time()
        while not self._stopping.is_set():
            for key, _ in self.selector.select(0.2):
                self._read(key.fileobj, key.data)  # type: ignore[arg-type]
            # A client reading ten times a second, as a browser's event loop might: several
            # events a read, so that this process (on the server's machine) takes less CPU.
            self._stopping.wait(READ_PAUSE)
        self.cpu = time.thread_time() - started

    def _read(self, sock: socket.socket, index: int) -> None:
        try:
            data = sock.recv(262144)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.ended[index] = True
            self.selector.unregister(sock)
            return
        buffer = self._pending[index] + data
        if self.statuses[index] is None:
            head, found, rest = buffer.partition(b"\r\n\r\n")
            if not found:
                self._pending[index] = buffer
                return
            self.statuses[index] = int(head.split(b" ", 2)[1])
            buffer = rest
        # Counted, not parsed (C-speed): every frame has one data line but pings; those with an
        # event line are the ready, end (and resync) ones, the others changes.
        complete, _, self._pending[index] = buffer.rpartition(b"\n\n")
        data_lines = complete.count(b"\ndata: ") + complete.startswith(b"data: ")
        named = complete.count(b"\nevent: ") + complete.startswith(b"event: ")
        self.changes[index] += data_lines - named
        if b"event: end\n" in complete:
            self.ended[index] = True

    def wait_open(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while None in self.statuses and time.monotonic() < deadline:
            time.sleep(0.1)
        return sum(1 for status in self.statuses if status == 200)

    def wait_received(self, expected: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while min(self.changes) < expected and time.monotonic() < deadline:
            time.sleep(0.1)

    def close(self) -> None:
        self._stopping.set()
        self.join(5)
        for sock in self.sockets:
            sock.close()
        self.selector.close()


class Writer(threading.Thread):
    """POSTs ``rate`` records a second to collection ``bench`` until stopped."""

    def __init__(self, base: str, token: str, rate: float) -> None:
        super().__init__(daemon=True)
        self.base, self.token, self.interval = base, token, 1.0 / rate
        self.written = 0
        self._stopping = threading.Event()

    def run(self) -> None:
        next_at = time.monotonic()
        while not self._stopping.is_set():
            body = {"data": {"title": f"change {self.written}", "price": 1}}
            call(self.base, "POST", "/api/v1/collections/bench/records", body, self.token)
            self.written += 1
            next_at += self.interval
            self._stopping.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self._stopping.set()
        self.join(30)


def server_rss_mib(pid: int) -> float:
    """Resident memory of the server and its worker processes."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    total = 0
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def measure(options: argparse.Namespace, base: str, token: str, pid: int) -> dict[str, Any]:
    """Baseline, then per round: subscribers open, a loaded run, subscribers gone, a baseline."""
    _, path, _ = PATHS["get"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script("get", token))

    def throughput(duration: int = options.duration) -> dict[str, float]:
        return run_wrk(
            base + path, duration, script.name, threads=WRK_THREADS, connections=WRK_CONNECTIONS
        )

    writer = Writer(base, token, options.rate)
    writer.start()
    try:
        throughput(2)  # warm-up: caches, connection pools
        baselines, rounds = [throughput()], []
        for _ in range(options.rounds):
            rounds.append(loaded_round(options, base, token, pid, writer, throughput))
            time.sleep(1)  # the server notices them leave
            baselines.append(throughput())
    finally:
        writer.stop()
        os.unlink(script.name)
    for index, figures in enumerate(rounds):
        baseline = (baselines[index]["rps"] + baselines[index + 1]["rps"]) / 2
        figures["ratio"] = figures["loaded"]["rps"] / baseline
    return {"baselines": baselines, "rounds": rounds, "rss_before": server_rss_mib(pid)}


def loaded_round(
    options: argparse.Namespace, base: str, token: str, pid: int, writer: Writer, throughput: Any
) -> dict[str, Any]:
    opening = time.monotonic()
    stream = "/api/v1/changes?collections=bench"
    subscribers = Subscribers(base, stream, token, options.subscribers)
    subscribers.start()
    try:
        opened = subscribers.wait_open(60)
        open_seconds = time.monotonic() - opening
        written_before = writer.written
        time.sleep(1)  # every stream past its ready event
        loaded = throughput()
        rss = server_rss_mib(pid)
        written = writer.written - written_before
        subscribers.wait_received(written, 30)
    finally:
        subscribers.close()
    return {
        "loaded": loaded, "opened": opened, "open_seconds": open_seconds, "written": written,
        "connected": sum(1 for ended in subscribers.ended if not ended),
        "received": sum(subscribers.changes), "fewest": min(subscribers.changes),
        "rss": rss, "reader_cpu": subscribers.cpu,
    }  # fmt: skip


def report(figures: dict[str, Any], options: argparse.Namespace) -> None:
    count = options.subscribers
    print(
        f"\nREST under change-stream subscribers: cached record GET, wrk -t{WRK_THREADS} "
        f"-c{WRK_CONNECTIONS} {options.duration} s, a writer at {options.rate}/s throughout"
    )
    for index, baseline in enumerate(figures["baselines"]):
        print(f"  {'without subscribers':<22} {_run(baseline)}")
        if index < len(figures["rounds"]):
            loaded = figures["rounds"][index]
            print(f"  {f'with {count}':<22} {_run(loaded['loaded'])}  ratio {loaded['ratio']:.3f}")
    ratios = [r["ratio"] for r in figures["rounds"]]
    print(
        f"  ratio with/without: median {statistics.median(ratios):.3f} "
        f"(range {min(ratios):.3f}-{max(ratios):.3f}; target >= {TARGET})"
    )
    for index, loaded in enumerate(figures["rounds"], 1):
        written = loaded["written"]
        print(
            f"  round {index}: {loaded['opened']}/{count} subscribers opened in "
            f"{loaded['open_seconds']:.1f} s, {loaded['connected']} connected at the end; "
            f"{loaded['received']} change events received in all, the fewest by one subscriber "
            f"{loaded['fewest']} (changes written from when all were subscribed to the end of "
            f"the loaded run: {written}); server RSS {loaded['rss']:.0f} MiB; reader CPU "
            f"{loaded['reader_cpu']:.1f} s"
        )
    print(f"  server RSS without subscribers (at the end): {figures['rss_before']:.0f} MiB")


def _run(run: dict[str, float]) -> str:
    return (
        f"{run['rps']:>9.0f} req/s  p50 {run['p50']:6.2f} ms  p99 {run['p99']:7.2f} ms  "
        f"non-2xx {run['errors']:.0f}"
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--rate", type=float, default=20.0, help="changes written a second")
    parser.add_argument("--rounds", type=int, default=3, help="loaded runs, each between two")
    parser.add_argument("--workers", default="auto", help="benben serve --workers")
    parser.add_argument("--threads", default="4", help="benben serve --threads")
    parser.add_argument("--workdir", help="where the server runs (a new temporary directory)")
    options = parser.parse_args(argv)
    require_wrk()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < options.subscribers + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, options.subscribers + 256), hard))
    with (
        tempfile.TemporaryDirectory(dir=options.workdir) as workdir,
        benben_environment("postgresql", str(Path(workdir) / "data")) as env,
    ):
        env = {**env, "BENBEN_REALTIME_MAX_STREAMS_PER_USER": str(options.subscribers)}
        environ = {k: v for k, v in os.environ.items() if not k.startswith("BENBEN_")}
        environ |= env | {"XDG_STATE_HOME": str(Path(workdir) / "state")}
        subprocess.run([BENBEN, "migrate"], env=environ, cwd=workdir, check=True,
                       capture_output=True)  # fmt: skip
        port = free_port()
        command = [BENBEN, "serve", "--port", str(port), "--workers", options.workers,
                   "--threads", options.threads]  # fmt: skip
        with open(Path(workdir) / "server.log", "wb") as log:
            server = subprocess.Popen(command, env=environ, cwd=workdir, stdout=log, stderr=log)
            base = f"http://127.0.0.1:{port}"
            try:
                wait_until_up(base + "/health/ready", server)
                token = login_and_seed(base)
                figures = measure(options, base, token, server.pid)
            finally:
                server.terminate()
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
        figures["server_log"] = (Path(workdir) / "server.log").read_text(errors="replace")
    report(figures, options)
    return figures


if __name__ == "__main__":
    main()
