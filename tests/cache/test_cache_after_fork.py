"""A forked child gets working cache objects of its own; the parent's keep working."""

from __future__ import annotations

import gc
import json
import os
import time
import uuid
import warnings

import pytest

from benben.cache.after_fork import reset_in_child
from benben.cache.redis_direct import DirectRedis
from benben.cache.redis_versions import RedisVersionBoard
from benben.testing import require_redis


def in_child(work) -> dict:
    """Run ``work()`` in a forked child; what it returns (JSON), or what it raised."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a multi-threaded process may deadlock: what the
        # objects under test guard against.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        try:
            os.close(read_end)
            try:
                answer = {"result": work()}
            except BaseException as exc:
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            os.write(write_end, json.dumps(answer).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        answer = json.loads(reader.read() or b'{"error": "the child wrote nothing"}')
    os.waitpid(pid, 0)
    assert "error" not in answer, answer["error"]
    return answer["result"]


class Resettable:
    def __init__(self) -> None:
        self.resets = 0
        reset_in_child(self, "reset")

    def reset(self) -> None:
        self.resets += 1


def test_a_child_resets_live_owners_and_keeps_dead_ones_dead():
    alive = Resettable()
    dead = Resettable()
    dead_resets = []
    dead.reset = lambda: dead_resets.append(True)  # type: ignore[method-assign]
    del dead
    gc.collect()
    assert in_child(lambda: [alive.resets, len(dead_resets)]) == [1, 0]
    assert alive.resets == 0  # the parent is not reset


def wait_for(predicate, timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def redis_url():
    return require_redis()


def test_a_forked_child_gets_its_own_board_and_connections(redis_url):
    import redis

    channel = f"benben-test-{uuid.uuid4().hex[:12]}:versions"
    boards = [RedisVersionBoard(redis_url, channel, socket_timeout=2, retry_interval=0.2)
              for _ in range(2)]  # fmt: skip
    client = redis.Redis.from_url(redis_url, socket_timeout=2)
    direct = DirectRedis(client.connection_pool)
    try:
        parent, other = boards
        for board in boards:
            board.current("any")
            assert wait_for(lambda b=board: b.trusted)
        parents_connection = direct.execute("CLIENT", "ID")  # kept idle: the child inherits it

        def child() -> dict:
            distrusted_at_once = parent.current("books") is None
            subscribed = wait_for(lambda: parent.trusted)  # its own listener, started lazily
            parent.announce({"books": 5})
            return {
                "distrusted_at_once": distrusted_at_once,
                "subscribed": subscribed,
                "connection": direct.execute("CLIENT", "ID"),
            }

        seen = in_child(child)
        assert seen["distrusted_at_once"]
        assert seen["subscribed"]
        assert seen["connection"] != parents_connection  # not the parent's socket
        assert wait_for(lambda: other.current("books") == 5)  # the child's announcement
        # The parent's objects were left alone: the same connection, the same subscription.
        assert direct.execute("CLIENT", "ID") == parents_connection
        assert parent.trusted
        other.announce({"books": 6})
        assert wait_for(lambda: parent.current("books") == 6)
    finally:
        direct.close()
        client.close()
        for board in boards:
            board.close()
