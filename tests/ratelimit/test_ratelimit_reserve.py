"""Contract of :mod:`benben.ratelimit.reserve` with the ``limits`` library.

Giving a slot back works on the storages' own layout (a list per key, newest first), which
``limits`` does not promise: these tests fail on a release that changes it, and
``pyproject.toml`` bounds ``limits`` below its next major version.
"""

from __future__ import annotations

import uuid

import limits
import pytest
from limits.storage import MemoryStorage, storage_from_string

from benben.ratelimit.reserve import can_give_back, give_back, reserve
from benben.ratelimit.store import LimitStore
from benben.testing import require_redis


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        yield LimitStore(MemoryStorage())
        return
    prefix = f"benben-test-{uuid.uuid4().hex[:12]}:ratelimit"
    storage = storage_from_string(require_redis(), key_prefix=prefix)
    yield LimitStore(storage)
    client = storage.get_connection()
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)


def remaining(store, item, *identifiers):
    return store.limiter.get_window_stats(item, *identifiers).remaining


def test_both_storages_can_give_back(store):
    assert can_give_back(store.storage)


def test_a_reservation_takes_one_slot_in_every_window(store):
    short, long = limits.parse("3/minute"), limits.parse("5/hour")
    windows = [(short, ("a",)), (long, ("b",))]
    assert reserve(store, windows) == 0
    assert remaining(store, short, "a") == 2
    assert remaining(store, long, "b") == 4


def test_giving_back_frees_exactly_the_slot_taken(store):
    item = limits.parse("3/minute")
    windows = [(item, ("k",))]
    for _ in range(3):
        assert reserve(store, windows) == 0
    assert reserve(store, windows) > 0  # full: refused, nothing taken
    give_back(store, windows)
    assert remaining(store, item, "k") == 1
    assert reserve(store, windows) == 0
    assert remaining(store, item, "k") == 0


def test_a_refused_window_gives_back_the_slots_taken_before_it(store):
    roomy, full = limits.parse("10/minute"), limits.parse("1/minute")
    assert reserve(store, [(full, ("f",))]) == 0
    wait = reserve(store, [(roomy, ("r",)), (full, ("f",))])
    assert 0 < wait <= 60
    assert remaining(store, roomy, "r") == 10  # the first window's slot was returned
