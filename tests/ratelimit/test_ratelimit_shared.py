"""Limits shared by instances on one Redis, and a storage outage that must not become an API
outage."""

from __future__ import annotations

import contextlib
import logging
import uuid

import pytest

from benben.ratelimit.store import LimitStore, get_limit_store
from benben.testing import require_redis

# Nothing listens there: every call fails at once with "connection refused".
DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_limits(backends):
    """Overrides pointing rate limits at Redis; their keys are removed afterwards."""
    url = require_redis()
    yield {"benben.ratelimit.storage_url": url, "benben.ratelimit.default": "4/minute"}
    import redis

    with contextlib.closing(redis.Redis.from_url(url)) as client:
        keys = list(client.scan_iter(match=f"{backends.cache_prefix}ratelimit*"))
        if keys:
            client.delete(*keys)


def test_two_instances_share_one_limit(make_app, redis_limits):
    first = make_app(redis_limits)
    second = make_app(redis_limits)
    assert first.app is not second.app
    address = {"REMOTE_ADDR": "192.0.2.7"}
    for app in (first, second, first, second):
        app.get("/api/v1/", extra_environ=address)
    refused = second.get("/api/v1/", extra_environ=address, status=429)
    assert refused.json["status"] == 429
    first.get("/api/v1/", extra_environ=address, status=429)
    # Another client still has its whole budget on either instance.
    fresh = first.get("/api/v1/", extra_environ={"REMOTE_ADDR": "192.0.2.8"})
    assert fresh.headers["RateLimit-Remaining"] == "3"


def test_deployments_with_other_prefixes_do_not_share(make_app, redis_limits):
    mine = make_app(redis_limits)
    other_prefix = f"benben-test-{uuid.uuid4().hex[:12]}:"
    theirs = make_app({**redis_limits, "benben.cache.prefix": other_prefix})
    for _ in range(4):
        mine.get("/api/v1/")
    mine.get("/api/v1/", status=429)
    assert theirs.get("/api/v1/").headers["RateLimit-Remaining"] == "3"
    get_limit_store(theirs.app.registry).storage.reset()  # its keys: not under this test's prefix


def test_storage_down_serves_requests(make_app, caplog):
    app = make_app({"benben.ratelimit.storage_url": DEAD_REDIS,
                    "benben.ratelimit.default": "1/minute",
                    "benben.cache.retry_interval": "0"})  # fmt: skip
    caplog.set_level(logging.WARNING, logger="benben.ratelimit.store")
    for _ in range(3):
        response = app.get("/api/v1/")
        assert response.status_code == 200
        assert "RateLimit-Limit" not in response.headers
    store = get_limit_store(app.app.registry)
    assert store.errors == 3
    warnings = [r for r in caplog.records if r.name == "benben.ratelimit.store"]
    assert len(warnings) == 1
    assert "served unlimited" in warnings[0].getMessage()


def test_storage_down_leaves_logins_unthrottled_but_working(make_app):
    app = make_app({"benben.ratelimit.storage_url": DEAD_REDIS})
    response = app.post_json(
        "/api/v1/auth/login", {"username": "nobody", "password": "x" * 12}, status=401
    )
    assert response.content_type == "application/problem+json"


class FlakyStorage:
    """A storage that fails while ``down`` is set."""

    def __init__(self, real):
        self.real = real
        self.down = False

    def __getattr__(self, name):
        attribute = getattr(self.real, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            if self.down:
                raise ConnectionError("storage unreachable")
            return attribute(*args, **kwargs)

        return call


def test_store_skips_the_storage_during_the_retry_interval_then_recovers(caplog):
    from limits import parse
    from limits.storage import MemoryStorage

    now = [1000.0]
    store = LimitStore(MemoryStorage(), retry_interval=5, log_interval=60, clock=lambda: now[0])
    flaky = FlakyStorage(store.storage)
    store.limiter.storage = flaky
    item = parse("2/minute")

    flaky.down = True
    assert store.hit(item, "x") is None
    assert store.hit(item, "x") is None  # not even tried
    assert (store.errors, store.bypassed) == (1, 1)

    flaky.down = False
    now[0] += 6
    assert store.hit(item, "x") is True
    assert store.hit(item, "x") is True
    assert store.hit(item, "x") is False  # counting again
    assert store.errors == 1
