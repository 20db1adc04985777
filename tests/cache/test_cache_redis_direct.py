"""DirectRedis: hot-path commands, one connection reused, never retried behind the caller."""

from __future__ import annotations

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
        assert direct.execute("CLIENT", "ID") == direct.execute("CLIENT", "ID")
    finally:
        direct.execute("DEL", key)


def test_the_timeout_holds_and_the_command_is_not_sent_again(direct):
    import redis

    started = time.monotonic()
    with pytest.raises((redis.ConnectionError, redis.TimeoutError)):
        direct.execute("BLPOP", f"benben-test-{uuid.uuid4().hex}", 5)  # would wait 5 s
    # One 0.5 s timeout: a retried command (redis-py retries three times by default) would
    # have waited at least four of them.
    assert time.monotonic() - started < 1.5
    assert direct.execute("PING") in (b"PONG", True)  # the next command gets a working one


def test_a_refused_command_keeps_its_connection(direct):
    import redis

    connection = direct.execute("CLIENT", "ID")
    with pytest.raises(redis.ResponseError):
        direct.execute("NOSUCHCOMMAND")
    assert direct.execute("CLIENT", "ID") == connection


def test_connections_dropped_while_idle_are_replaced(direct, client):
    import redis

    dropped = direct.execute("CLIENT", "ID")
    client.client_kill_filter(_id=dropped)  # as a Redis restart would
    try:
        answer = direct.execute("PING")
    except redis.ConnectionError:  # told once; callers send again what is safe to send twice
        answer = direct.execute("PING")
    assert answer in (b"PONG", True)
    assert direct.execute("CLIENT", "ID") != dropped
