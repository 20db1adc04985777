"""The storage counts a request against all its limits with ``limits``' own calls, reads each
window back, and never sends a command twice (Redis may have counted the first)."""

from __future__ import annotations

import contextlib
import uuid

import limits
import pytest
import redis.exceptions
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from benben.ratelimit.store import LimitStore, build_store, get_limit_store
from benben.testing import require_redis


@pytest.fixture
def redis_store():
    """A store built from settings, as the app builds it, on keys of its own."""
    prefix = f"benben-test-{uuid.uuid4().hex[:12]}:"
    store = build_store({"benben.ratelimit.storage_url": require_redis(),
                         "benben.cache.prefix": prefix})  # fmt: skip
    yield store
    store.storage.reset()


def test_several_limits_count_independently_in_one_call(redis_store):
    tight, loose = limits.parse("1/minute"), limits.parse("10/minute")
    entries = [(tight, ("default", "k")), (loose, ("write", "k"))]
    first = redis_store.hit_all(entries, 1)
    second = redis_store.hit_all(entries, 1)
    assert [(allowed, stats.remaining) for allowed, stats in first] == [(True, 0), (True, 9)]
    assert [(allowed, stats.remaining) for allowed, stats in second] == [(False, 0), (True, 8)]


def test_memory_storage_counts_and_reads_back():
    store = LimitStore(MemoryStorage())
    item = limits.parse("2/minute")
    answers = [store.hit_all([(item, ("a",))], 1)[0] for _ in range(3)]
    assert [(allowed, stats.remaining) for allowed, stats in answers] == [
        (True, 1),
        (True, 0),
        (False, 0),
    ]


def test_a_write_costs_two_redis_round_trips_per_limit(make_app, backends, monkeypatch):
    url = require_redis()
    app = make_app({"benben.ratelimit.storage_url": url, "benben.ratelimit.default": "50/minute",
                    "benben.ratelimit.groups": "write=50/minute"})  # fmt: skip
    store = get_limit_store(app.app.registry)
    connection_class = store.storage.get_connection().connection_pool.connection_class
    commands = []
    send = connection_class.send_command

    def counting(self, *args, **kwargs):
        commands.append(args[0])
        return send(self, *args, **kwargs)

    app.post_json("/api/v1/collections", {"id": "x"}, status=401)  # connects, loads the scripts
    monkeypatch.setattr(connection_class, "send_command", counting)
    try:
        response = app.post_json("/api/v1/collections", {"id": "x"}, status=401)
        sent = list(commands)
    finally:
        with contextlib.suppress(Exception):
            store.storage.reset()
    assert sent == ["EVALSHA"] * 4  # default and write limits: each counted, then read back
    assert response.headers["RateLimit-Remaining"] == "48"


def test_a_reply_lost_after_redis_counted_is_not_sent_again(redis_store, monkeypatch):
    """Redis ran the count, its reply was lost (a timeout): the command is not sent again, the
    request is served unlimited, and the window holds it once."""
    item = limits.parse("2/minute")
    connection_class = redis_store.storage.get_connection().connection_pool.connection_class
    redis_store.hit_all([(limits.parse("9/minute"), ("warm",))], 1)  # loads the scripts
    sent = []
    send, read = connection_class.send_command, connection_class.read_response

    def sending(self, *args, **kwargs):
        sent.append(args[0])
        return send(self, *args, **kwargs)

    def losing_the_first_reply(self, *args, **kwargs):
        reply = read(self, *args, **kwargs)
        if len(sent) == 1:
            raise redis.exceptions.TimeoutError("Timeout reading from socket")
        return reply

    monkeypatch.setattr(connection_class, "send_command", sending)
    monkeypatch.setattr(connection_class, "read_response", losing_the_first_reply)
    assert redis_store.hit_all([(item, ("a",))], 1) is None  # served unlimited
    monkeypatch.undo()
    assert sent == ["EVALSHA"]
    assert redis_store.errors == 1
    assert MovingWindowRateLimiter(redis_store.storage).get_window_stats(item, "a").remaining == 1


def test_a_connection_dropped_while_idle_is_replaced(redis_store):
    item = limits.parse("3/minute")
    redis_store.hit_all([(item, ("a",))], 1)
    client = redis_store.storage.get_connection()
    idle_id = client.client_id()  # on the pool's one idle connection
    with contextlib.closing(redis.Redis.from_url(require_redis())) as other:
        other.client_kill_filter(_id=idle_id)
    [(allowed, stats)] = redis_store.hit_all([(item, ("a",))], 1)
    assert allowed
    assert stats.remaining == 1
    assert redis_store.errors == 0
    assert client.client_id() != idle_id
