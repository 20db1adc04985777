"""Leased slots: a busy key counted a lease at a time, never more than its limit as counted, small
limits exact, leases expiring, threads sharing one lease, a forked child starting with none."""

from __future__ import annotations

import json
import os
import threading
import uuid

import limits
import pytest
from limits import WindowStats
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from ratelimit_support import lose_the_first_reply

from benben.ratelimit.lease import LIFETIME, MOST, Leases
from benben.ratelimit.window import WindowCounter
from benben.testing import require_redis


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeStorage:
    """A fetch that counts what it is asked, admits all, and remembers each call's extra."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.counted = 0
        self.extras: list[int] = []

    def fetch(self, entries, cost, extra):
        self.extras.append(extra)
        free = self.limit - self.counted - cost
        allowed = free >= 0
        granted = max(0, min(extra, free)) if allowed else 0
        if allowed:
            self.counted += cost + granted
        stats = WindowStats(2000.0, self.limit - self.counted)
        return [(allowed, stats) for _ in entries], granted


def entries(amount: int, key: str = "k"):
    return [(limits.parse(f"{amount}/minute"), ("default", key))]


def test_a_key_seen_once_gets_no_lease_a_busy_one_doubles_to_its_ceiling():
    storage = FakeStorage(10_000)
    leases = Leases(storage.fetch, clock=Clock())
    busy = entries(10_000)
    for _ in range(200):
        assert leases.hit(busy, 1)[0][0]
    # No lease the first time, then 2, 4, ... slots up to MOST (10000 // 64 is more).
    assert storage.extras[:7] == [0, 1, 3, 7, 15, 31, 31]
    assert len(storage.extras) < 200 / 16
    assert storage.counted >= 200


def test_the_lease_is_at_most_a_64th_of_the_limit():
    storage = FakeStorage(640)
    leases = Leases(storage.fetch, clock=Clock())
    for _ in range(100):
        leases.hit(entries(640), 1)
    assert max(storage.extras) == 640 // 64 - 1  # a lease of 10 slots, this request's included


@pytest.mark.parametrize("amount", [10, 30, 127])
def test_small_limits_are_counted_exactly_one_call_a_request(amount):
    storage = FakeStorage(amount)
    leases = Leases(storage.fetch, clock=Clock())
    answers = [leases.hit(entries(amount), 1)[0][0] for _ in range(amount + 1)]
    assert answers == [True] * amount + [False]  # the 11th of 10/minute is refused
    assert storage.extras == [0] * (amount + 1)
    assert len(leases) == 0  # not even remembered


def test_remaining_counts_the_unused_slots_of_the_lease():
    storage = FakeStorage(6400)
    leases = Leases(storage.fetch, clock=Clock())
    remaining = [leases.hit(entries(6400), 1)[0][1].remaining for _ in range(40)]
    assert remaining == list(range(6399, 6359, -1))  # as if each were counted alone


def test_a_lease_expires_after_its_lifetime():
    clock = Clock()
    storage = FakeStorage(6400)
    leases = Leases(storage.fetch, clock=clock)
    for _ in range(4):  # leases of 1, 2 then 4 slots: 3 left unused
        leases.hit(entries(6400), 1)
    calls = len(storage.extras)
    clock.now += LIFETIME
    leases.hit(entries(6400), 1)
    assert len(storage.extras) == calls + 1  # the unused slots are not served any more
    # One slot of the last lease was used in a lifetime: the next lease is sized to that rate.
    assert storage.extras[-1] == 0


def test_refusals_come_from_the_storage():
    storage = FakeStorage(200)  # leases of at most 3 slots
    leases = Leases(storage.fetch, clock=Clock())
    answers = [leases.hit(entries(200), 1)[0][0] for _ in range(205)]
    assert storage.counted == 200
    assert answers.count(True) == 200
    assert answers[-5:] == [False] * 5


def test_a_batch_cost_is_taken_from_the_lease_or_counted_with_it():
    storage = FakeStorage(6400)
    leases = Leases(storage.fetch, clock=Clock())
    for _ in range(8):
        leases.hit(entries(6400), 1)
    [(allowed, stats)] = leases.hit(entries(6400), 5)
    assert allowed
    assert storage.counted - (6400 - stats.remaining) >= 0


def test_entries_of_other_keys_or_limits_do_not_share_a_lease():
    storage = FakeStorage(10**6)
    leases = Leases(storage.fetch, clock=Clock())
    for _ in range(10):
        leases.hit(entries(6400, "a"), 1)
    calls = len(storage.extras)
    leases.hit(entries(6400, "b"), 1)
    leases.hit(entries(12800, "a"), 1)
    assert storage.extras[calls:] == [0, 0]  # each seen once: counted on its own


@pytest.fixture(params=["memory", "redis"])
def counter(request):
    if request.param == "memory":
        yield WindowCounter(MemoryStorage())
        return
    prefix = f"benben-test-{uuid.uuid4().hex[:12]}:ratelimit"
    storage = storage_from_string(require_redis(), key_prefix=prefix)
    yield WindowCounter(storage)
    client = storage.get_connection()
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)


def hammer(counter, item, threads: int, each: int) -> int:
    """``threads`` threads hitting one key ``each`` times; how many were admitted."""
    admitted = []
    start = threading.Barrier(threads)

    def work():
        start.wait()
        mine = 0
        for _ in range(each):
            [(allowed, _)] = counter.hit([(item, ("default", "shared"))], 1)
            mine += allowed
        admitted.append(mine)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(admitted)


def test_threads_on_one_key_are_each_counted_once(counter):
    item = limits.parse("100000/minute")
    admitted = hammer(counter, item, threads=6, each=300)
    assert admitted == 1800
    counted = 100000 - counter.limiter.get_window_stats(item, "default", "shared").remaining
    # Every request counted once; the slots of the last lease at most are counted and unused.
    assert 1800 <= counted <= 1800 + MOST


def test_threads_never_get_more_than_the_limit(counter):
    item = limits.parse("1280/minute")  # leases of at most 20 slots
    admitted = hammer(counter, item, threads=6, each=400)
    counted = 1280 - counter.limiter.get_window_stats(item, "default", "shared").remaining
    assert counted == 1280
    assert 1280 - 20 <= admitted <= 1280


def test_a_lease_call_run_twice_is_counted_once():
    """The lease's script ran, its reply was lost and the call sent again: its slots are counted
    once and granted the same."""
    prefix = f"benben-test-{uuid.uuid4().hex[:12]}:ratelimit"
    storage = storage_from_string(require_redis(), key_prefix=prefix)
    counter = WindowCounter(storage)
    item = limits.parse("6400/minute")
    sent = lose_the_first_reply(counter)
    try:
        answers, granted = counter._fetch_redis([(item, ("default", "k"))], 1, 7)
        assert len(sent) == 2
        assert granted == 7
        assert answers[0][0] is True
        assert answers[0][1].remaining == 6400 - 8
        stats = MovingWindowRateLimiter(storage).get_window_stats(item, "default", "k")
        assert stats.remaining == 6400 - 8
    finally:
        storage.reset()


def test_a_lease_is_granted_only_where_every_window_has_room(counter):
    tight, loose = limits.parse("130/minute"), limits.parse("6400/minute")
    both = [(tight, ("default", "k")), (loose, ("write", "k"))]
    for _ in range(127):
        counter.limiter.hit(tight, "default", "k")
    fetch = counter._fetch_redis if counter._redis is not None else counter._fetch_memory
    answers, granted = fetch(both, 1, 5)
    assert [allowed for allowed, _ in answers] == [True, True]
    assert granted == 2  # what the tighter window had left after this request
    assert [stats.remaining for _, stats in answers] == [0, 6400 - 3]
    answers, granted = fetch(both, 1, 5)
    assert [allowed for allowed, _ in answers] == [False, True]  # counted where it fits
    assert granted == 0


def test_a_forked_child_starts_with_no_lease():
    storage = FakeStorage(10**6)
    leases = Leases(storage.fetch, clock=Clock())
    for _ in range(10):
        leases.hit(entries(6400), 1)
    assert len(leases) == 1
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        try:
            before = len(storage.extras)
            leases.hit(entries(6400), 1)
            # The parent's slots are not served here: the child counts its first request.
            answer = {"leases": len(leases), "fetched": len(storage.extras) - before}
            os.write(write_end, json.dumps(answer).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        answer = json.loads(reader.read() or b"{}")
    os.waitpid(pid, 0)
    assert answer == {"leases": 1, "fetched": 1}
    calls = len(storage.extras)
    leases.hit(entries(6400), 1)
    assert len(storage.extras) == calls  # the parent still serves from its lease


def test_one_thread_fetches_a_key_s_lease_while_the_others_wait():
    storage = FakeStorage(10**6)
    in_flight, most = [0], [0]
    guard = threading.Lock()

    def slow_fetch(entries, cost, extra):
        with guard:
            in_flight[0] += extra > 0
            most[0] = max(most[0], in_flight[0])
        threading.Event().wait(0.002)  # a round trip, during which the others arrive
        with guard:
            in_flight[0] -= extra > 0
        return storage.fetch(entries, cost, extra)

    leases = Leases(slow_fetch)
    item = limits.parse("100000/minute")

    class Counter:
        limiter = None

        def hit(self, entries, cost):
            return leases.hit(entries, cost)

    assert hammer(Counter(), item, threads=6, each=200) == 1200
    assert most[0] == 1
    assert 1200 <= storage.counted <= 1200 + MOST
    assert len(storage.extras) < 1200 / 4  # mostly served from leases
