"""benben.cache.near: versions every instance learns of, and the in-process cache keyed by them."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest

from benben.cache.near import NearCache, RedisVersionBoard, VersionBoard
from benben.testing import eventually, require_redis


def wait_for(predicate, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def test_versions_only_grow():
    board = VersionBoard()
    board.learn({"books": 5})
    board.learn({"books": 3, "films": 1})  # an older read cannot roll the board back
    assert board.current("books") == 5
    assert board.current("films") == 1
    assert board.current("songs") is None


def test_forgetting_drops_everything_and_sets_trust():
    board = VersionBoard()
    forgotten = []
    board.on_forget(lambda: forgotten.append(True))
    board.learn({"books": 5})
    generation = board.generation
    board.forget(trusted=False)
    assert forgotten == [True]
    assert board.generation != generation
    board.learn({"books": 6})
    assert board.current("books") is None  # not trusted: nothing to go by
    board.forget(trusted=True)
    assert board.current("books") is None


def test_counters_start_at_zero_and_advance():
    board = VersionBoard()
    assert board.counter("auth") == 0
    board.bump_counter("auth")
    board.bump_counter("auth")
    assert board.counter("auth") == 2
    assert VersionBoard(trusted=False).counter("auth") is None


def test_near_cache_ages_out_and_is_bounded():
    now = [0.0]
    cache = NearCache(max_items=2, max_age=10, clock=lambda: now[0])
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.get("a") == 1
    cache.set("c", 3)  # "b" is the least recently used
    assert cache.get("b") is None
    now[0] = 11
    assert cache.get("a") is None
    assert (cache.hits, cache.misses) == (1, 2)


def test_a_peek_is_not_counted_as_a_read():
    """Writers look at what is cached before replacing it; the read metrics are readers'."""
    cache = NearCache(max_items=2, max_age=10)
    cache.set("a", 1)
    assert (cache.peek("a"), cache.peek("b")) == (1, None)
    assert (cache.hits, cache.misses) == (0, 0)


@pytest.fixture
def redis_boards():
    url = require_redis()
    channel = f"benben-test-{uuid.uuid4().hex[:12]}:versions"
    boards = [
        RedisVersionBoard(url, channel, socket_timeout=2, retry_interval=0.2) for _ in range(2)
    ]
    for board in boards:
        board.current("any")  # starts the subscription
        wait_for(lambda b=board: b.trusted, "subscribed")
    yield boards
    import redis

    client = redis.Redis.from_url(url)
    client.delete(f"{channel}:auth")
    client.close()
    for board in boards:
        board.close()


def test_an_announcement_reaches_every_instance(redis_boards):
    first, second = redis_boards
    first.announce({"books": 42})
    assert first.current("books") == 42  # at once where it was made
    wait_for(lambda: second.current("books") == 42, "the other instance learned it")


def test_shared_counters_use_redis(redis_boards):
    first, second = redis_boards
    assert first.counter("auth") == second.counter("auth") == 0
    first.bump_counter("auth")
    wait_for(lambda: second.counter("auth") == 1, "the bump reached the other instance")
    # A board that lost track reads the counter back from Redis, not from zero.
    second.forget(trusted=True)
    assert second.counter("auth") == 1


def test_malformed_announcements_are_ignored(redis_boards):
    first, second = redis_boards
    first._publisher.publish(first.channel, b"not json")
    first.announce({"books": 7})
    wait_for(lambda: second.current("books") == 7, "the next good one still arrives")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_without_redis_nothing_is_trusted_and_nothing_fails():
    board = RedisVersionBoard(
        f"redis://127.0.0.1:{closed_port()}/0", "x:versions", socket_timeout=0.2,
        retry_interval=0.2,
    )  # fmt: skip
    try:
        assert board.current("books") is None
        board.announce({"books": 1})  # dropped, counted, logged: never raised
        board.bump_counter("auth")
        assert board.counter("auth") is None
        assert board.publish_errors >= 1
        time.sleep(0.3)  # a reconnection attempt or two
        assert not board.trusted
    finally:
        board.close()


class StalledListener(RedisVersionBoard):
    """A board whose listener thread, once stalled, never gets to read (as on a busy CPU)."""

    stall = threading.Event()

    def _drain(self, pubsub):
        if threading.current_thread() is self._thread and self.stall.is_set():
            return
        super()._drain(pubsub)


def test_a_read_takes_in_what_redis_delivered_without_the_listener():
    url = require_redis()
    channel = f"benben-test-{uuid.uuid4().hex[:12]}:versions"
    writer = RedisVersionBoard(url, channel, socket_timeout=2, retry_interval=0.2)
    reader = StalledListener(url, channel, socket_timeout=2, retry_interval=0.2)
    reader.stall = threading.Event()
    try:
        reader.current("any")
        wait_for(lambda: reader.trusted, "subscribed")
        reader.stall.set()
        writer.announce({"books": 9})

        def learned():
            assert reader.current("books") == 9  # only the reading thread can have drained it

        eventually(learned)
    finally:
        reader.close()
        writer.close()


def redis_client_of(board: RedisVersionBoard, client) -> dict:
    """The subscription's connection as Redis lists it ({} while there is none)."""
    sock = board._socket
    if sock is None or sock.fileno() < 0:
        return {}
    host, port = sock.getsockname()[:2]
    entries = [c for c in client.client_list() if c["addr"] == f"{host}:{port}"]
    return entries[0] if entries else {}


def test_the_subscription_is_read_off_its_socket(redis_boards):
    first, second = redis_boards
    assert first._messages is not None  # not through redis-py (see benben.cache.subscription)
    first.announce({"books": 3})
    wait_for(lambda: second.current("books") == 3, "the other instance learned it")


def test_a_silent_subscription_is_pinged(monkeypatch):
    import redis

    from benben.cache import near

    monkeypatch.setattr(near, "_HEALTH_CHECK_INTERVAL", 0.3)
    url = require_redis()
    board = RedisVersionBoard(url, f"benben-test-{uuid.uuid4().hex[:12]}:versions",
                              socket_timeout=2, retry_interval=0.2)  # fmt: skip
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        board.current("any")
        wait_for(lambda: board.trusted, "subscribed")
        wait_for(lambda: redis_client_of(board, client).get("cmd") == "ping", "a PING was sent")
        time.sleep(1.0)  # several intervals: each PING was answered, or it would reconnect
        assert board.trusted
        assert redis_client_of(board, client)["cmd"] == "ping"
    finally:
        board.close()
        client.close()


def test_a_dropped_subscription_is_made_again_at_once():
    import redis

    url = require_redis()
    channel = f"benben-test-{uuid.uuid4().hex[:12]}:versions"
    # Retrying only every minute: a dropped subscription must not wait for that.
    writer, reader = (RedisVersionBoard(url, channel, socket_timeout=2, retry_interval=60)
                      for _ in range(2))  # fmt: skip
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        reader.current("any")
        wait_for(lambda: reader.trusted, "subscribed")
        dropped = redis_client_of(reader, client)
        client.client_kill_filter(_id=dropped["id"])
        wait_for(
            lambda: (
                redis_client_of(reader, client).get("id", dropped["id"]) != dropped["id"]
                and reader.trusted
            ),
            "subscribed again",
        )
        writer.announce({"books": 11})
        wait_for(lambda: reader.current("books") == 11, "announcements arrive again")
    finally:
        client.close()
        reader.close()
        writer.close()
