"""Reading a subscription's messages straight off its socket."""

from __future__ import annotations

import socket
import sys

import pytest

from benben.cache import subscription
from benben.cache.subscription import SocketMessages


def resp2(*parts: bytes) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


@pytest.fixture
def messages(pair):
    reader = SocketMessages.over(pair[0])
    assert reader is not None  # hiredis ships with the redis extra, which the tests install
    return reader


def test_nothing_received_reads_nothing_without_waiting(pair, messages):
    pair[0].setblocking(True)  # MSG_DONTWAIT, not the socket's mode, keeps the read from waiting
    assert messages.read() == []


def test_messages_are_given_as_redis_py_gives_them(pair, messages):
    _, server = pair
    server.sendall(b"*3\r\n$9\r\nsubscribe\r\n$8\r\nversions\r\n:1\r\n")
    server.sendall(resp2(b"message", b"versions", b'{"c": 2}'))
    # RESP3 delivers the same as a push.
    server.sendall(b'>3\r\n$7\r\nmessage\r\n$8\r\nversions\r\n$8\r\n{"c": 3}\r\n')
    assert messages.read() == [
        {"type": "subscribe", "channel": b"versions", "data": 1},
        {"type": "message", "channel": b"versions", "data": b'{"c": 2}'},
        {"type": "message", "channel": b"versions", "data": b'{"c": 3}'},
    ]


def test_a_message_split_across_reads_is_given_once_whole(pair, messages):
    _, server = pair
    wire = resp2(b"message", b"versions", b'{"c": 2}')
    server.sendall(wire[:11])
    assert messages.read() == []
    server.sendall(wire[11:])
    assert messages.read() == [{"type": "message", "channel": b"versions", "data": b'{"c": 2}'}]


def test_more_than_one_chunk_waiting_is_read_in_full(pair, messages):
    _, server = pair
    server.setblocking(False)
    payload = b"x" * 1000
    wire = resp2(b"message", b"versions", payload) * 150  # about 150 KB: three chunks
    sent = 0
    received: list[dict] = []
    while sent < len(wire):  # the socket buffer may hold less than all of it
        try:
            sent += server.send(wire[sent:])
        except BlockingIOError:
            received += messages.read()
    received += messages.read()
    assert len(received) == 150
    assert all(m["data"] == payload for m in received)


def test_answers_that_are_not_messages_are_left_out(pair, messages):
    _, server = pair
    server.sendall(resp2(b"pong", b"") + b"-ERR something\r\n" + resp2(b"message", b"v", b"{}"))
    assert messages.read() == [{"type": "message", "channel": b"v", "data": b"{}"}]


def test_a_closed_connection_is_an_error(pair, messages):
    _, server = pair
    server.close()
    with pytest.raises(ConnectionError, match="closed"):
        messages.read()


def test_a_failing_socket_is_an_error(pair, messages):
    client, _ = pair
    client.close()  # the reader's descriptor is now invalid: EBADF
    with pytest.raises(ConnectionError, match="failed"):
        messages.read()


def test_sockets_it_cannot_read_are_left_to_redis_py(pair, monkeypatch):
    class Wrapped(socket.socket):  # as ssl.SSLSocket is: its bytes need its own read
        pass

    wrapped = Wrapped(fileno=pair[0].detach())
    try:
        assert SocketMessages.over(wrapped) is None
    finally:
        wrapped.close()
    assert SocketMessages.over(None) is None
    monkeypatch.setitem(sys.modules, "hiredis", None)  # no parser
    assert SocketMessages.over(pair[1]) is None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_silence_is_broken_by_a_ping_that_must_be_answered(pair, monkeypatch):
    client, server = pair
    clock = Clock()
    monkeypatch.setattr(subscription.time, "monotonic", clock)
    messages = SocketMessages.over(client)  # silent since now
    pings = []

    def ping() -> None:
        pings.append(clock.now)

    messages.keep_alive(ping, 15)
    clock.now += 14
    messages.keep_alive(ping, 15)
    assert pings == []  # not silent long enough
    clock.now += 2
    messages.keep_alive(ping, 15)
    assert pings == [clock.now]
    clock.now += 5
    server.sendall(resp2(b"pong", b""))
    messages.read()
    messages.keep_alive(ping, 15)  # answered: the next ping waits for the next silence
    clock.now += 14
    messages.keep_alive(ping, 15)
    assert len(pings) == 1
    clock.now += 2
    messages.keep_alive(ping, 15)
    assert len(pings) == 2
    clock.now += 16
    with pytest.raises(ConnectionError, match="did not answer a PING"):
        messages.keep_alive(ping, 15)
