"""benben.cache.process_cache: bounded, aged values kept in this process."""

from __future__ import annotations

from benben.cache.process_cache import ProcessCache


def test_values_age_out_and_are_bounded():
    now = [0.0]
    cache = ProcessCache(max_items=2, max_age=10, clock=lambda: now[0])
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
    cache = ProcessCache(max_items=2, max_age=10)
    cache.set("a", 1)
    assert (cache.peek("a"), cache.peek("b")) == (1, None)
    assert (cache.hits, cache.misses) == (0, 0)
    cache.delete("a")
    assert len(cache) == 0
