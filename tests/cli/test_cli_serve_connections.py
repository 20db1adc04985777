"""Slow and idle clients against a real `benben serve` on loopback: hundreds of sockets that send
nothing, or half a request a line at a time, leave normal clients served; silent sockets are
closed; the open-file limit is made to fit the connection limit, or the server refuses to start.
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Server, benben_command, clean_environ, port_of, run_benben

from benben.testing import unavailable

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/limits").exists(), reason="needs Linux's /proc"),
]

IDLE = 300  # connect and send nothing
SLOW = 100  # half a request, one header line now and then
PROMPT = 3.0  # seconds: "served at once" on a loaded CI machine; the held sockets hold for 75 s
HALF_REQUEST = b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@contextlib.contextmanager
def server(tmp_path: Path, *args: str, **settings: str) -> Iterator[tuple[Server, int]]:
    """`benben serve` with the embedded defaults on a free port, BENBEN_* ``settings`` set."""
    command = benben_command("serve", "--port", "0", *args)
    proc = Server(command, tmp_path, clean_environ(**settings))
    try:
        port = port_of(proc.listen_line())
        status, _ = proc.wait_ready(f"http://127.0.0.1:{port}/health/live")
        assert status == 200
        yield proc, port
    finally:
        assert proc.stop() == 0
        assert "Traceback" not in proc.logs()


@contextlib.contextmanager
def held_sockets(port: int, idle: int, slow: int) -> Iterator[list[socket.socket]]:
    """``idle`` silent connections and ``slow`` ones that sent half a request; closed after."""
    sockets: list[socket.socket] = []
    try:
        for index in range(idle + slow):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sockets.append(sock)
            if index >= idle:
                sock.sendall(HALF_REQUEST)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def trickle(sockets: list[socket.socket], idle: int) -> None:
    """One more header line on each slow socket: slow, never finished."""
    for sock in sockets[idle:]:
        sock.sendall(b"X-Slow: 1\r\n")


def served_within(port: int, seconds: float) -> bool:
    """Whether a plain GET is answered 200 within ``seconds`` (False on a timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        try:
            head = sock.recv(64)
        except TimeoutError:
            return False
    return head.startswith(b"HTTP/1.1 200 ")


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def soft_file_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no open-file limit in /proc")


def test_hundreds_of_slow_and_idle_clients_leave_others_served(tmp_path: Path) -> None:
    with server(tmp_path) as (proc, port), held_sockets(port, IDLE, SLOW) as sockets:
        trickle(sockets, IDLE)
        assert served_within(port, PROMPT)
        # The server holds them all (accepted, not queued in the backlog behind the client).
        assert open_files(proc.process.pid) >= IDLE + SLOW
        trickle(sockets, IDLE)
        assert served_within(port, PROMPT)
        # None was dropped: the slow ones still wait for the end of their request.
        for sock in sockets[IDLE:]:
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)


def test_with_several_workers_slow_and_idle_clients_hold_no_thread_either(tmp_path: Path) -> None:
    """Each Gunicorn worker runs waitress: Gunicorn's own gthread worker gave every new
    connection a thread for up to five seconds, and a half-sent request one until it ended, so
    twenty idle sockets kept everyone else waiting."""
    # Several processes need a cache they share, or none (null) on the embedded database.
    with (
        server(tmp_path, "--workers", "2", "--threads", "2", BENBEN_CACHE_BACKEND="null") as (
            proc,
            port,
        ),
        held_sockets(port, IDLE, SLOW) as sockets,
    ):
        trickle(sockets, IDLE)
        assert served_within(port, PROMPT)
        trickle(sockets, IDLE)
        assert served_within(port, PROMPT)
        pid = proc.process.pid
        assert len(Path(f"/proc/{pid}/task/{pid}/children").read_text().split()) == 2


def test_with_waitress_default_limit_the_same_clients_lock_everyone_out(tmp_path: Path) -> None:
    """The problem the settings solve: at waitress's default of 100 connections, a client
    queued behind the held ones is not answered."""
    with server(tmp_path, BENBEN_SERVER_CONNECTION_LIMIT="100") as (_, port):
        with held_sockets(port, IDLE, SLOW) as sockets:
            trickle(sockets, IDLE)
            assert not served_within(port, PROMPT)
        # Once they are gone, service resumes.
        assert served_within(port, 10)


def test_silent_connections_are_closed_after_the_channel_timeout(tmp_path: Path) -> None:
    settings = {
        "BENBEN_SERVER_CONNECTION_LIMIT": "10",
        "BENBEN_SERVER_CHANNEL_TIMEOUT": "1",
        "BENBEN_SERVER_CLEANUP_INTERVAL": "1",
    }
    with server(tmp_path, **settings) as (_, port), held_sockets(port, 15, 5) as sockets:
        # Twice the limit: the first ten are closed after about 2 s, then the next ten, then the
        # client queued behind them is served.
        assert served_within(port, 20)
        for sock in sockets:
            sock.settimeout(10)
            assert sock.recv(1) == b""  # closed by the server, idle or half a request


def test_open_file_limit_is_raised_to_fit_the_connection_limit(tmp_path: Path) -> None:
    def low_soft_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 4096))

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        unavailable(f"a hard open-file limit of 4096 (it is {hard} here)")
    command = benben_command("serve", "--port", "0")
    proc = Server(command, tmp_path, clean_environ(), preexec_fn=low_soft_limit)
    try:
        proc.listen_line()
        assert soft_file_limit(proc.process.pid) == 4096  # up to the hard limit
    finally:
        assert proc.stop() == 0
    assert "open-file limit raised from 256 to 4096" in proc.logs()


def test_refuses_to_start_when_the_hard_limit_is_too_low(tmp_path: Path) -> None:
    def low_hard_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, 512))

    refused = tmp_path / "refused"
    refused.mkdir()
    result = run_benben("serve", "--port", "0", cwd=refused, preexec_fn=low_hard_limit)
    assert result.returncode == 2
    assert result.stderr == (
        "benben: error: benben.server.connection_limit 1000 needs 1128 open files (128 besides "
        "the connections), but this process may open at most 512 (hard limit, ulimit -Hn): "
        "lower the connection limit or raise the limit\n"
    )
    assert not (refused / "var").exists()  # refused before the app (and its database) was made
    # A connection limit that fits starts.
    environ = clean_environ(BENBEN_SERVER_CONNECTION_LIMIT="300")
    proc = Server(benben_command("serve", "--port", "0"), tmp_path, environ, low_hard_limit)
    try:
        assert proc.listen_line().startswith("benben: serving on ")
    finally:
        assert proc.stop() == 0
