"""The cache service on memory and Redis: on the registry, per request, invalidated on commit."""

from __future__ import annotations

import pytest
import redis
import transaction
from pyramid.exceptions import ConfigurationError

from benben.cache import NO_VALUE, REGION_KEY, STATS_KEY, CacheService, ICacheService
from benben.config import configure


def test_request_cache_is_the_cache_service(make_app):
    seen = {}

    def include(config):
        def view(request):
            seen["cache"] = request.cache
            seen["service"] = request.find_service(ICacheService)
            return {}

        config.add_route("test.cache", "/test/cache")
        config.add_view(view, route_name="test.cache", renderer="json")

    app = make_app(include=include)
    app.get("/test/cache")
    assert isinstance(seen["cache"], CacheService)
    assert seen["cache"] is seen["service"]
    assert ICacheService.providedBy(seen["cache"])
    assert seen["cache"].region is app.app.registry[REGION_KEY]


def test_values_are_cached_across_requests(notes_app):
    app = notes_app()
    app.put("/test/notes/greeting", {"value": "hello"})
    assert app.get("/test/notes/greeting").json == {"value": "hello", "from": "database"}
    assert app.get("/test/notes/greeting").json == {"value": "hello", "from": "cache"}
    stats = app.app.registry[STATS_KEY]
    assert stats.hits >= 1
    assert stats.misses >= 1
    assert stats.errors == 0


def test_invalidation_happens_after_commit(notes_app):
    app = notes_app()
    app.put("/test/notes/greeting", {"value": "hello"})
    app.get("/test/notes/greeting")  # cached

    written = app.put("/test/notes/greeting", {"value": "bonjour"}).json
    assert written == {"still_cached_before_commit": True}
    assert app.get("/test/notes/greeting").json == {"value": "bonjour", "from": "database"}


def test_aborted_transaction_invalidates_nothing(notes_app):
    app = notes_app()
    app.put("/test/notes/greeting", {"value": "hello"})
    app.get("/test/notes/greeting")  # cached

    app.put("/test/notes/greeting", {"value": "bonjour", "then": "fail"}, status=500)
    assert app.get("/test/notes/greeting").json == {"value": "hello", "from": "cache"}
    assert app.app.registry[REGION_KEY].get("note:greeting") == "hello"


def test_service_outside_a_request(registry):
    manager = transaction.TransactionManager(explicit=True)
    cache = CacheService(registry[REGION_KEY], registry[STATS_KEY], manager)
    cache.set("a", {"n": 1})
    assert cache.get("a") == {"n": 1}
    assert cache.get_or_create("b", lambda: 2) == 2
    assert cache.get_or_create("b", lambda: 3) == 2
    cache.delete("a", "b")
    assert cache.get("a") is NO_VALUE
    assert cache.get("b") is NO_VALUE

    cache.set("c", 1)
    manager.begin()
    cache.invalidate_after_commit("c")
    manager.abort()
    assert cache.get("c") == 1
    manager.begin()
    cache.invalidate_after_commit("c")
    manager.commit()
    assert cache.get("c") is NO_VALUE

    with pytest.raises(RuntimeError, match="needs a transaction manager"):
        CacheService(registry[REGION_KEY], registry[STATS_KEY]).invalidate_after_commit("c")


def test_several_values_are_read_at_once_in_order(registry, monkeypatch):
    import dogpile.cache.region

    cache = CacheService(registry[REGION_KEY], registry[STATS_KEY])
    cache.set("a", 1)
    cache.set("c", {"n": 3})
    assert cache.get_multi(["c", "b", "a"]) == [{"n": 3}, NO_VALUE, 1]
    assert cache.get_multi([]) == []
    # Older than a shorter lifetime than the cache's: missing, for this read only.
    now = dogpile.cache.region.time.time()
    monkeypatch.setattr(dogpile.cache.region.time, "time", lambda: now + 120)
    assert cache.get_multi(["a", "c"], expiration_time=60) == [NO_VALUE, NO_VALUE]
    assert cache.get_multi(["a", "c"]) == [1, {"n": 3}]


def test_each_app_has_its_own_cache(make_app, backends):
    first, second = make_app(), make_app({"benben.cache.prefix": backends.cache_prefix + "2:"})
    first.app.registry[REGION_KEY].set("k", "first")
    assert second.app.registry[REGION_KEY].get("k") is NO_VALUE


@pytest.mark.parametrize("backends", [("postgresql", "redis")], indirect=True)
def test_redis_keys_carry_the_prefix_and_expire(registry, backends):
    registry[REGION_KEY].set("k", "v")
    client = redis.Redis.from_url(registry.settings["benben.cache.url"])
    try:
        assert client.exists(backends.cache_prefix + "k") == 1
        assert client.ttl(backends.cache_prefix + "k") == 3600 + 60
    finally:
        client.close()


def test_cached_values_are_copies(registry):
    region = registry[REGION_KEY]
    value = {"items": [1]}
    region.set("k", value)
    value["items"].append(2)
    got = region.get("k")
    got["items"].append(3)
    assert region.get("k") == {"items": [1]}


@pytest.mark.parametrize("backends", [("sqlite", "memory")], indirect=True)
def test_memory_cache_keeps_at_most_max_items(make_app):
    region = make_app({"benben.cache.max_items": "2"}).app.registry[REGION_KEY]
    region.set("a", 1)
    region.set("b", 2)
    assert region.get("a") == 1  # a is now the most recently used
    region.set("c", 3)
    assert region.get("b") is NO_VALUE
    assert (region.get("a"), region.get("c")) == (1, 3)


def test_a_redis_url_that_is_not_one_fails_start_up(tmp_path):
    settings = {"benben.data_dir": str(tmp_path), "benben.cache.backend": "redis",
                "benben.cache.url": "http://user:pw@cache:6379"}  # fmt: skip
    expected = r"benben\.cache\.url: 'cache:6379' is not a Redis URL"
    with pytest.raises(ConfigurationError, match=expected):
        configure(settings, environ={})
