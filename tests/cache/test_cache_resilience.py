"""ResilientBackend over the real memory and Redis backends, with an outage switched on and off
and an injected clock."""

from __future__ import annotations

import logging

import pytest
from dogpile.cache.api import NO_VALUE
from dogpile.cache.proxy import ProxyBackend

from benben.cache import REGION_KEY, STATS_KEY
from benben.cache import resilience as resilience_module
from benben.cache.resilience import ResilientBackend


class Outage(ProxyBackend):
    """Fails every call while ``down``, as an unreachable Redis does."""

    def __init__(self):
        super().__init__()
        self.down = False

    def _check(self):
        if self.down:
            raise ConnectionError("Connection refused")

    def get_serialized(self, key):
        self._check()
        return self.proxied.get_serialized(key)

    def get(self, key):
        self._check()
        return self.proxied.get(key)

    def set_serialized(self, key, value):
        self._check()
        self.proxied.set_serialized(key, value)

    def set(self, key, value):
        self._check()
        self.proxied.set(key, value)

    def delete_multi(self, keys):
        self._check()
        self.proxied.delete_multi(keys)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def cache(registry):
    """The app's region with an outage switch under its resilience wrapper and a fake clock."""
    region = registry[REGION_KEY]
    resilient = region.backend
    assert isinstance(resilient, ResilientBackend)
    outage = Outage().wrap(resilient.proxied)
    resilient.proxied = outage
    resilient.guard.clock = clock = Clock()
    resilient.guard.retry_interval = 5
    resilient.guard.log_interval = 60
    return region, outage, clock, registry[STATS_KEY]


def warnings_of(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "benben.cache.resilience"
            and r.levelno == logging.WARNING]  # fmt: skip


def test_outage_reads_miss_and_writes_are_dropped(cache):
    region, outage, clock, stats = cache
    region.set("k", "before")
    outage.down = True
    assert region.get("k") is NO_VALUE
    region.set("k", "during")  # dropped, not raised
    assert stats.errors == 1  # the read failed; the write was bypassed
    assert stats.bypassed == 1
    outage.down = False
    clock.now += 5
    assert region.get("k") == "before"


def test_missed_deletes_are_replayed_when_the_backend_answers_again(cache, caplog):
    caplog.set_level(logging.INFO, logger="benben.cache.resilience")
    region, outage, clock, _stats = cache
    region.set("stale", "old value")
    outage.down = True
    region.delete("stale")  # fails: remembered
    clock.now += 5
    region.delete_multi(["also-stale"])  # fails again after the retry interval: remembered
    assert region.get("stale") is NO_VALUE  # bypassed meanwhile

    outage.down = False
    clock.now += 1
    assert region.get("stale") is NO_VALUE  # still within the retry interval: not tried
    assert outage.proxied.get_serialized(region.key_mangler("stale")) is not NO_VALUE

    clock.now += 5
    assert region.get("stale") is NO_VALUE  # answered: deletes replayed first
    assert outage.proxied.get_serialized(region.key_mangler("stale")) is NO_VALUE
    assert "cache backend answers again after 2 failed calls" in caplog.text


def test_a_failed_replay_keeps_the_deletes_pending(cache):
    region, outage, clock, _stats = cache
    region.set("stale", "old value")
    outage.down = True
    region.delete("stale")
    clock.now += 5
    region.get("other")  # tries, fails: the pending delete must survive
    outage.down = False
    clock.now += 5
    region.get("other")
    assert outage.proxied.get_serialized(region.key_mangler("stale")) is NO_VALUE


def test_failures_are_counted_always_and_logged_once_per_interval(cache, caplog):
    region, outage, clock, stats = cache
    outage.down = True
    for _ in range(4):
        clock.now += 5  # past the retry interval: each get really fails
        region.get("k")
    assert stats.errors == 4
    assert len(warnings_of(caplog)) == 1

    clock.now += 60
    region.get("k")
    assert stats.errors == 5
    assert len(warnings_of(caplog)) == 2


def test_too_many_missed_deletes_are_reported(cache, caplog, monkeypatch):
    monkeypatch.setattr(resilience_module, "MAX_PENDING_DELETES", 2)
    region, outage, clock, _stats = cache
    outage.down = True
    region.delete_multi(["a", "b", "c"])
    outage.down = False
    clock.now += 5
    region.get("k")
    assert any("more than 2 invalidations were missed" in m for m in warnings_of(caplog))
