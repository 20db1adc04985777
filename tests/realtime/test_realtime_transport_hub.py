"""The hub on its own, over socket pairs: the head then the stream, a closed stream that the
client does not drain aborted after the drain time, a stop before any stream, and a fork: the
child gets a fresh hub and lets go of the parent's sockets."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import pytest

from benben.realtime.hub import Hub
from benben.realtime.sse import end_frame
from benben.realtime.stream import Stream

PROMPT = 5.0


@pytest.fixture
def hub() -> Iterator[Hub]:
    hub = Hub(drain_seconds=0.5, shutdown_seconds=0.5)
    yield hub
    hub.stop()


def adopted(hub: Hub, stream: Stream, head: bytes = b"HEAD\r\n\r\n") -> socket.socket:
    """The client's end of a connection whose server end the hub adopted."""
    server, client = socket.socketpair()
    assert hub.expect(stream)
    hub.adopt(stream, head, server.detach())
    client.settimeout(PROMPT)
    return client


def read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        assert chunk, f"closed after {data!r}"
        data += chunk
    return data


def test_the_head_then_the_stream_then_the_close(hub: Hub) -> None:
    stream = Stream(max_buffered=1000, heartbeat_seconds=30)
    stream.push(b"queued before ")
    with adopted(hub, stream) as client:
        assert read_exactly(client, 22) == b"HEAD\r\n\r\nqueued before "
        stream.push(b"after")
        assert read_exactly(client, 5) == b"after"
        stream.close("done", b"bye")
        assert read_exactly(client, 3) == b"bye"
        assert client.recv(1) == b""  # then the server's side is shut
    deadline = time.monotonic() + PROMPT
    while hub.streams and time.monotonic() < deadline:
        time.sleep(0.01)
    assert hub.streams == 0
    assert stream.close_reason == "done"


def test_a_closed_stream_the_client_never_reads_is_aborted(hub: Hub) -> None:
    stream = Stream(max_buffered=16 << 20, heartbeat_seconds=30)
    with adopted(hub, stream) as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        while stream.buffered < 1 << 20:  # more than the kernel takes
            stream.push(b"x" * 65536)
            time.sleep(0.001)
        stream.close("done", end_frame("done"))
        deadline = time.monotonic() + PROMPT
        while hub.streams and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hub.streams == 0  # gone after the drain time (0.5 s), though never drained
        assert stream.buffered == 0


def test_stopping_a_hub_that_never_started_closes_what_it_expected() -> None:
    hub = Hub()
    stream = Stream(max_buffered=100, heartbeat_seconds=30)
    hub.stop()
    assert not hub.expect(stream)  # a stopping hub takes no more streams
    assert not stream.closed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX")
def test_a_forked_child_lets_go_of_the_parents_sockets(hub: Hub) -> None:
    stream = Stream(max_buffered=1000, heartbeat_seconds=30)
    with adopted(hub, stream) as client:
        assert read_exactly(client, 8) == b"HEAD\r\n\r\n"
        pid = os.fork()
        if pid == 0:  # the child: a fresh hub of its own, the parent's socket closed here
            code = 1
            try:
                fresh = Stream(max_buffered=100, heartbeat_seconds=30)
                if hub.streams == 0 and hub.expect(fresh):
                    hub.stop()
                    code = 0 if fresh.close_reason == "shutdown" else 2
                time.sleep(3)  # still alive while the parent closes the stream
            finally:
                os._exit(code)
        try:
            stream.push(b"still mine")
            assert read_exactly(client, 10) == b"still mine"
            stream.close("done")
            client.settimeout(2)  # before the child exits: its copy did not hold the socket
            assert client.recv(1) == b""
        finally:
            _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
