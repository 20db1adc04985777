"""What other packages count: cache hits, misses and backend failures, rate-limit rejections by
group, and refused logins by reason."""

from __future__ import annotations

import pytest
from dogpile.cache.proxy import ProxyBackend
from metrics_support import scrape
from pyramid.response import Response

from benben.cache import REGION_KEY
from benben.observability.metrics import get_metrics
from benben.ratelimit.counting import count_request
from benben.testing_auth import add_user, login

CACHE = "benben_cache_operations_total"
REJECTIONS = "benben_ratelimit_rejections_total"
FAILURES = "benben_login_failures_total"


class Failing(ProxyBackend):
    """A cache backend that fails every call, as an unreachable Redis does."""

    def get_serialized(self, key):
        raise ConnectionError("Connection refused")

    def set_serialized(self, key, value):
        raise ConnectionError("Connection refused")


def include_test_views(config):
    def cached(request):
        computed = []
        value = request.cache.get_or_create(
            f"metrics-test:{request.matchdict['key']}", lambda: computed.append(1) or "value"
        )
        return Response(json_body={"value": value, "computed": bool(computed)})

    def batch(request):
        count_request(request, "write", cost=int(request.params["operations"]))
        return Response(json_body={"ok": True})

    def ok(request):
        return Response(json_body={"ok": True})

    config.add_route("test.cached", "/test/cached/{key}")
    config.add_route("test.batch", "/test/batch")
    config.add_route("test.signin", "/test/signin")
    config.add_view(cached, route_name="test.cached")
    config.add_view(batch, route_name="test.batch", request_method="POST")
    config.add_view(ok, route_name="test.signin")
    config.set_ratelimit_group("test.signin", "auth")


@pytest.fixture
def counting_app(make_app):
    def factory(overrides=None):
        return make_app(overrides, include=include_test_views)

    return factory


def test_cache_hits_and_misses_are_counted(counting_app):
    app = counting_app()
    before = scrape(app)
    assert app.get("/test/cached/a").json["computed"] is True
    assert app.get("/test/cached/a").json["computed"] is False
    assert app.get("/test/cached/a").json["computed"] is False

    after = scrape(app)
    hits = after.value(CACHE, result="hit") - before.value(CACHE, result="hit")
    assert hits == 2
    # dogpile reads again under its lock before computing: a miss is one or two reads.
    assert 1 <= after.value(CACHE, result="miss") - before.value(CACHE, result="miss") <= 2
    assert after.value(CACHE, result="error") == 0


def test_cache_backend_failures_are_counted_as_errors(counting_app):
    app = counting_app({"benben.cache.retry_interval": "0"})  # every call tries the backend
    resilient = app.app.registry[REGION_KEY].backend
    resilient.proxied = Failing().wrap(resilient.proxied)

    for _ in range(3):
        assert app.get("/test/cached/b").json == {"value": "value", "computed": True}
    metrics = scrape(app)
    assert metrics.value(CACHE, result="error") >= 3
    assert metrics.value(CACHE, result="hit") == 0
    assert metrics.value("benben_http_requests_total", route="/test/cached/{key}",
                         status="200") == 3  # fmt: skip


def test_other_caches_count_through_the_interface(counting_app):
    app = counting_app()
    metrics = get_metrics(app.app.registry)
    before = scrape(app)
    metrics.cache("hit")
    metrics.cache("error")
    after = scrape(app)
    assert after.value(CACHE, result="hit") == before.value(CACHE, result="hit") + 1
    assert after.value(CACHE, result="error") == before.value(CACHE, result="error") + 1
    with pytest.raises(ValueError, match="hit"):
        metrics.cache("stale")


def test_rate_limit_rejections_are_counted_by_group(counting_app):
    app = counting_app({"benben.ratelimit.default": "2/minute",
                        "benben.ratelimit.groups": "auth=1/minute write=3/minute"})  # fmt: skip
    client = {"REMOTE_ADDR": "198.51.100.4"}
    for _ in range(2):
        app.get("/api/v1/", extra_environ=client)
    app.get("/api/v1/", extra_environ=client, status=429)
    app.get("/api/v1/", extra_environ=client, status=429)
    app.get("/test/signin", extra_environ=client)
    app.get("/test/signin", extra_environ=client, status=429)
    # count_request() in a view: the batch of 5 exceeds write's 3 (after its own request).
    app.post("/test/batch?operations=5", extra_environ={"REMOTE_ADDR": "198.51.100.9"},
             status=429)  # fmt: skip

    metrics = scrape(app)
    assert metrics.value(REJECTIONS, group="default") == 2
    assert metrics.value(REJECTIONS, group="auth") == 1
    assert metrics.value(REJECTIONS, group="write") == 1
    # A request refused before routing still counts under its route.
    requests = "benben_http_requests_total"
    assert metrics.value(requests, route="/api/v1/", status="429") == 2
    assert metrics.value(requests, route="/test/signin", status="429") == 1


def test_login_failures_are_counted_by_reason(make_app):
    app = make_app({"benben.auth.login_failures_per_address": "3/minute"})
    registry = app.app.registry
    add_user(registry, "alice")
    add_user(registry, "gone", is_active=False)
    client = {"REMOTE_ADDR": "198.51.100.5"}
    app.post_json("/api/v1/auth/login", {"username": "nobody", "password": "x" * 12},
                  extra_environ=client, status=401)  # fmt: skip
    app.post_json("/api/v1/auth/login", {"username": "alice", "password": "wrong-password"},
                  extra_environ=client, status=401)  # fmt: skip
    login(app, "gone", extra_environ=client, status=401)  # right password, deactivated
    login(app, "alice", extra_environ=client, status=429)  # the address used its 3 failures
    login(app, "alice", extra_environ={"REMOTE_ADDR": "198.51.100.6"})  # a success counts not

    metrics = scrape(app)
    assert {
        reason: metrics.value(FAILURES, reason=reason)
        for reason in ("unknown_user", "bad_password", "inactive", "throttled")
    } == {"unknown_user": 1, "bad_password": 1, "inactive": 1, "throttled": 1}
