"""DirectRedis: hot-path commands on kept connections with blocking, kernel-timed sockets."""

from __future__ import annotations

import socket
import struct
import time
import uuid

import pytest

from benben.cache.redis_direct import DirectRedis
from benben.testing import require_redis


@pytest.fixture
def client():
    import redis

    client = redis.Redis.from_url(require_redis(), socket_timeout=0.5)
    yield client
    client.close()


@pytest.fixture
def direct(client):
    direct = DirectRedis(client.connection_pool)
    yield direct
    direct.close()


def test_commands_answer_and_reuse_one_connection(direct):
    key = f"benben-test-{uuid.uuid4().hex}"
    try:
        assert direct.execute("SET", key, "1") in (b"OK", "OK", True)
        assert direct.execute("INCR", key) == 2
        [connection] = direct._idle  # the same one, given back twice
        sock = connection._sock
        assert sock.gettimeout() is None  # blocking: a read is one system call
        timeout = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.calcsize("@ll"))
        assert struct.unpack("@ll", timeout) == (0, 500000)  # ...bounded by the kernel
    finally:
        direct.execute("DEL", key)


def test_the_kernel_enforces_the_timeout(direct):
    import redis

    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        direct.execute("BLPOP", f"benben-test-{uuid.uuid4().hex}", 5)  # would wait 5 s
    assert time.monotonic() - started < 4
    assert direct._idle == []  # a connection that failed is not lent again
    assert direct.execute("PING") in (b"PONG", True)  # the next command gets a fresh one


def test_a_refused_command_keeps_its_connection(direct):
    import redis

    direct.execute("PING")
    [connection] = direct._idle
    with pytest.raises(redis.ResponseError):
        direct.execute("NOSUCHCOMMAND")
    assert direct._idle == [connection]


class _TLSLike(socket.socket):
    """Stands for ssl.SSLSocket, a socket.socket subclass."""


class _Connection:
    def __init__(self) -> None:
        self._sock = _TLSLike()
        self._sock.settimeout(0.5)

    def connect(self) -> None:
        pass

    def disconnect(self) -> None:
        self._sock.close()


class _Pool:
    connection_kwargs = {"socket_timeout": 0.5}

    def make_connection(self) -> _Connection:
        return _Connection()


def test_tls_sockets_keep_pythons_timeouts():
    # A blocking TLS socket retries a read the kernel timed out: it must keep its own timeout.
    connection = DirectRedis(_Pool())._connect()
    try:
        assert connection._sock.gettimeout() == 0.5
    finally:
        connection.disconnect()


def test_a_failure_drops_the_idle_connections_too(direct, client):
    import redis

    connections = [direct._connect() for _ in range(3)]
    for connection in connections:
        direct._give_back(connection)
    ids = []
    for connection in connections:
        connection.send_command("CLIENT", "ID")
        ids.append(connection.read_response())
    for client_id in ids:  # as a Redis restart would
        client.client_kill_filter(_id=client_id)
    with pytest.raises(redis.ConnectionError):
        direct.execute("PING")
    assert direct._idle == []
    assert direct.execute("PING") in (b"PONG", True)  # a single retry now succeeds
