"""One round trip counts a request against all its limits and reads them back, on the same keys
and with the same answers as the ``limits`` library's own calls."""

from __future__ import annotations

import contextlib
import uuid

import limits
import pytest
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from ratelimit_support import lose_the_first_reply

from benben.ratelimit.store import get_limit_store
from benben.ratelimit.window import WindowCounter
from benben.testing import require_redis


@pytest.fixture
def redis_storage():
    prefix = f"benben-test-{uuid.uuid4().hex[:12]}:ratelimit"
    storage = storage_from_string(require_redis(), key_prefix=prefix)
    yield storage
    client = storage.get_connection()
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)


@pytest.mark.parametrize("cost", [1, 2])
def test_answers_match_the_library_hit_then_read(redis_storage, cost):
    item = limits.parse("5/minute")
    counter = WindowCounter(redis_storage)
    library = MovingWindowRateLimiter(redis_storage)
    for _ in range(4):
        [(ours, our_stats)] = counter.hit([(item, ("mine", "k"))], cost)
        theirs = library.hit(item, "theirs", "k", cost=cost)
        their_stats = library.get_window_stats(item, "theirs", "k")
        assert ours == theirs
        assert our_stats.remaining == their_stats.remaining
        assert abs(our_stats.reset_time - their_stats.reset_time) < 1
    # The library reads and clears the keys this writes (4 of 5 taken either way: at cost 2,
    # the third and fourth hits were refused).
    assert library.get_window_stats(item, "mine", "k").remaining == 1
    library.clear(item, "mine", "k")
    assert library.test(item, "mine", "k")


def test_several_limits_count_independently_in_one_call(redis_storage):
    tight, loose = limits.parse("1/minute"), limits.parse("10/minute")
    counter = WindowCounter(redis_storage)
    first = counter.hit([(tight, ("default", "k")), (loose, ("write", "k"))], 1)
    second = counter.hit([(tight, ("default", "k")), (loose, ("write", "k"))], 1)
    assert [(allowed, stats.remaining) for allowed, stats in first] == [(True, 0), (True, 9)]
    assert [(allowed, stats.remaining) for allowed, stats in second] == [(False, 0), (True, 8)]


def test_memory_storage_is_counted_by_the_library():
    counter = WindowCounter(MemoryStorage())
    item = limits.parse("2/minute")
    answers = [counter.hit([(item, ("a",))], 1)[0] for _ in range(3)]
    assert [(allowed, stats.remaining) for allowed, stats in answers] == [
        (True, 1),
        (True, 0),
        (False, 0),
    ]


def test_a_write_costs_one_redis_round_trip(make_app, backends, monkeypatch):
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

    app.post_json("/api/v1/collections", {"id": "x"}, status=401)  # connects, loads the script
    monkeypatch.setattr(connection_class, "send_command", counting)
    try:
        response = app.post_json("/api/v1/collections", {"id": "x"}, status=401)
        sent = list(commands)
    finally:
        with contextlib.suppress(Exception):
            store.storage.reset()
    assert sent == ["EVALSHA"]  # default and write limits, counted and read back at once
    assert response.headers["RateLimit-Remaining"] == "48"


def test_a_redis_that_forgot_the_script_is_sent_it_again(redis_storage):
    counter = WindowCounter(redis_storage)
    item = limits.parse("3/minute")
    counter.hit([(item, ("a",))], 1)
    redis_storage.get_connection().script_flush()
    [(allowed, stats)] = counter.hit([(item, ("a",))], 1)
    assert allowed
    assert stats.remaining == 1


def test_a_connection_dropped_while_idle_is_replaced(redis_storage):
    counter = WindowCounter(redis_storage)
    item = limits.parse("3/minute")
    counter.hit([(item, ("a",))], 1)
    direct = counter._redis._redis
    idle_id = direct.execute("CLIENT", "ID")  # the connection the next call takes
    redis_storage.get_connection().client_kill_filter(_id=idle_id)
    [(allowed, stats)] = counter.hit([(item, ("a",))], 1)
    assert allowed
    assert stats.remaining == 1
    assert direct.execute("CLIENT", "ID") != idle_id


def test_a_reply_lost_after_the_script_ran_is_not_counted_again(redis_storage):
    """The script ran, its reply was lost (a timeout reads as a failed connection), and the call
    was sent again: the request is counted once, and answered as the first run decided."""
    counter = WindowCounter(redis_storage)
    item = limits.parse("2/minute")
    sent = lose_the_first_reply(counter)
    [(allowed, stats)] = counter.hit([(item, ("a",))], 1)
    assert len(sent) == 2  # sent again
    assert allowed
    assert stats.remaining == 1
    assert MovingWindowRateLimiter(redis_storage).get_window_stats(item, "a").remaining == 1
    # The next request is a call of its own: counted.
    [(allowed, stats)] = counter.hit([(item, ("a",))], 1)
    assert (allowed, stats.remaining) == (True, 0)
