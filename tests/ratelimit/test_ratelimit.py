"""Rate limits through the real app, on both backend pairs (memory limits with the embedded
default, Redis limits with PostgreSQL + Redis: an empty storage_url follows the cache)."""

from __future__ import annotations

import pytest
from pyramid.response import Response

from benben.ratelimit.counting import count_request
from benben.ratelimit.store import get_limit_store

PROBLEM = "application/problem+json"


def add_test_routes(config):
    """/t/plain (no group), /t/login (group auth), /t/batch (counts each operation)."""

    def ok(request):
        return Response(json_body={"ok": True})

    def batch(request):
        count_request(request, "write", cost=int(request.params.get("operations", "1")))
        return Response(json_body={"ok": True})

    config.add_route("t.plain", "/t/plain")
    config.add_route("t.login", "/t/login")
    config.add_route("t.batch", "/t/batch")
    config.add_view(ok, route_name="t.plain")
    config.add_view(ok, route_name="t.login")
    config.add_view(batch, route_name="t.batch")
    config.set_ratelimit_group("t.login", "auth")


def client(address):
    return {"REMOTE_ADDR": address}


@pytest.fixture
def limited(make_app):
    def factory(**overrides):
        settings = {"benben.ratelimit.default": "3/minute",
                    "benben.ratelimit.groups": "auth=2/minute write=4/minute"}  # fmt: skip
        return make_app({**settings, **overrides}, include=add_test_routes)

    return factory


def test_limit_reached_answers_429_problem_with_retry_after(limited):
    app = limited()
    remaining = []
    for _ in range(3):
        response = app.get("/t/plain", extra_environ=client("10.0.0.1"))
        assert response.headers["RateLimit-Limit"] == "3"
        assert 0 < int(response.headers["RateLimit-Reset"]) <= 60
        remaining.append(response.headers["RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]

    refused = app.get("/t/plain", extra_environ=client("10.0.0.1"), status=429)
    assert refused.content_type == PROBLEM
    assert refused.json["status"] == 429
    assert refused.json["title"] == "Too Many Requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert refused.headers["RateLimit-Limit"] == "3"


def test_clients_do_not_share_a_limit(limited):
    app = limited()
    for _ in range(3):
        app.get("/t/plain", extra_environ=client("10.0.0.1"))
    app.get("/t/plain", extra_environ=client("10.0.0.1"), status=429)
    other = app.get("/t/plain", extra_environ=client("10.0.0.2"))
    assert other.headers["RateLimit-Remaining"] == "2"


def test_a_refused_request_is_not_served(limited, make_app):
    served = []

    def include(config):
        add_test_routes(config)
        config.add_route("t.count", "/t/count")
        config.add_view(lambda request: served.append(1) or Response("x"), route_name="t.count")

    app = make_app({"benben.ratelimit.default": "1/minute"}, include=include)
    app.get("/t/count")
    app.get("/t/count", status=429)
    assert served == [1]


def test_route_group_has_its_own_limit(limited):
    app = limited()
    for remaining in ("1", "0"):
        response = app.get("/t/login")
        assert response.headers["RateLimit-Limit"] == "2"
        assert response.headers["RateLimit-Remaining"] == remaining
    app.get("/t/login", status=429)
    # The default limit is a separate budget.
    assert app.get("/t/plain").headers["RateLimit-Remaining"] == "2"


def test_unsafe_methods_also_count_against_write(limited):
    app = limited(**{"benben.ratelimit.default": "100/minute"})
    for _ in range(4):
        response = app.post("/t/plain")
        assert response.headers["RateLimit-Limit"] == "4"  # the tighter of default and write
    app.post("/t/plain", status=429)
    app.delete("/t/plain", status=429)
    # Reads are not writes.
    assert app.get("/t/plain").headers["RateLimit-Limit"] == "100"


def test_write_counts_only_when_configured(limited):
    app = limited(**{"benben.ratelimit.groups": "auth=2/minute"})
    for _ in range(3):
        app.post("/t/plain")
    app.post("/t/plain", status=429)  # the default (3/minute) applies alone


def test_health_probes_are_never_limited(limited):
    app = limited(**{"benben.ratelimit.default": "1/minute"})
    for _ in range(3):
        response = app.get("/health/live")
        assert "RateLimit-Limit" not in response.headers


def test_disabled_rate_limits_count_nothing(limited):
    app = limited(**{"benben.ratelimit.enabled": "false", "benben.ratelimit.default": "1/minute"})
    for _ in range(3):
        response = app.get("/t/plain")
        assert "RateLimit-Limit" not in response.headers
    app.get("/t/batch", params={"operations": "50"})


def test_count_request_counts_each_operation(limited):
    app = limited()
    response = app.post("/t/batch", params={"operations": "3"})
    # write: 4/minute - 1 (the request itself) - 3 (its operations)
    assert response.headers["RateLimit-Remaining"] == "0"
    refused = app.get("/t/batch", params={"operations": "1"}, status=429)
    assert refused.content_type == PROBLEM
    assert int(refused.headers["Retry-After"]) >= 1


def test_count_request_over_the_limit_refuses_at_once(limited):
    app = limited()
    refused = app.get("/t/batch", params={"operations": "5"}, status=429)
    assert refused.json["status"] == 429


def test_invalid_credentials_are_counted_and_answer_401(limited):
    app = limited(**{"benben.ratelimit.default": "2/minute"})
    headers = {"Authorization": "Bearer not-a-token"}
    for _ in range(2):
        refused = app.get("/t/plain", headers=headers, status=401)
        assert refused.content_type == PROBLEM
    # Guessing tokens spends the address's budget like anything else.
    app.get("/t/plain", headers=headers, status=429)
    app.get("/t/plain", status=429)


def test_storage_keys_carry_the_cache_prefix(backends, limited):
    app = limited()
    app.get("/t/plain")
    storage = get_limit_store(app.app.registry).storage
    if backends.cache == "redis":
        assert storage.key_prefix == f"{backends.cache_prefix}ratelimit"
    else:
        assert type(storage).__name__ == "MemoryStorage"


def test_authentication_routes_count_against_the_auth_group(limited):
    app = limited()
    credentials = {"username": "nobody", "password": "not the password"}
    for _ in range(2):
        refused = app.post_json("/api/v1/auth/login", credentials, status=401)
        assert refused.headers["RateLimit-Limit"] == "2"
    app.post_json("/api/v1/auth/login", credentials, status=429)


def test_identity_failing_on_the_database_is_a_503_not_a_500(make_app):
    from sqlalchemy.exc import OperationalError

    class DatabaseDownPolicy:
        def identity(self, request):
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database down"))

    def include(config):
        add_test_routes(config)
        config.set_security_policy(DatabaseDownPolicy())

    app = make_app({"benben.ratelimit.default": "1/minute"}, include=include)
    token = {"Authorization": "Bearer something"}
    down = app.get("/t/plain", headers=token, status=503)
    assert down.content_type == PROBLEM
    app.get("/t/plain", headers=token, status=429)  # counted against the address meanwhile


def test_the_group_is_that_of_the_route_the_router_matches(make_app):
    """Only routes of configured groups are tried before routing: one shadowed by an earlier
    route, or whose predicates refuse the request, is not the request's group."""

    def include(config):
        config.add_route("t.any", "/t/any/{name}")  # first: it wins for /t/any/special
        config.add_route("t.special", "/t/any/special")
        config.add_route("t.posted", "/t/posted", request_method="POST")
        config.add_route("t.other", "/t/posted")
        for name in ("t.any", "t.special", "t.posted", "t.other"):
            config.add_view(lambda request: Response(json_body={}), route_name=name)
        config.set_ratelimit_group("t.special", "auth")
        config.set_ratelimit_group("t.posted", "auth")

    app = make_app({"benben.ratelimit.default": "3/minute",
                    "benben.ratelimit.groups": "auth=2/minute"}, include=include)  # fmt: skip
    assert app.get("/t/any/special").headers["RateLimit-Limit"] == "3"
    assert app.get("/t/posted").headers["RateLimit-Limit"] == "3"  # t.other's
    assert app.post("/t/posted").headers["RateLimit-Limit"] == "2"


LABELS: list[str | None] = []


def label_recorder_factory(handler, registry):
    """Above the rate limiter: the route the metrics label each answer with."""
    from benben.observability.metrics import matched_route

    def tween(request):
        try:
            return handler(request)
        finally:  # a 401 is raised through here, rendered above
            LABELS.append(getattr(matched_route(request), "pattern", None))

    return tween


def test_answers_given_before_routing_are_labelled_with_their_route(make_app):
    def include(config):
        add_test_routes(config)
        config.add_tween(f"{__name__}.label_recorder_factory",
                         over="benben.ratelimit.tween.ratelimit_tween_factory")  # fmt: skip

    app = make_app({"benben.ratelimit.default": "2/minute",
                    "benben.security.max_body_size": "1024"}, include=include)  # fmt: skip
    LABELS.clear()
    app.get("/t/plain", headers={"Authorization": "Bearer not-a-token"}, status=401)
    app.post("/t/plain", b"x" * 2000, status=413)  # the body limit, under the rate limiter
    app.get("/t/plain", status=429)
    app.get("/t/nowhere", extra_environ={"REMOTE_ADDR": "10.0.0.9"}, status=404)
    assert LABELS == ["/t/plain", "/t/plain", "/t/plain", None]


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [("/api/v1/auth/login", "/api/v1/auth/login"), ("api/v1/{name}/x", "/api/v1/"),
     ("/files/*rest", "/files/"), ("/old/:name", "/old/"), ("{anything}", "/")],
)  # fmt: skip
def test_a_route_s_literal_prefix_is_what_every_matching_path_starts_with(pattern, prefix):
    from benben.ratelimit.tween import _literal_prefix

    assert _literal_prefix(pattern) == prefix


def test_fixed_files_are_never_limited(limited):
    app = limited()  # 3/minute
    for _ in range(6):
        response = app.get("/client/benben.js")
        assert "RateLimit-Limit" not in response.headers
    statuses = [app.get("/api/v1/", expect_errors=True).status_int for _ in range(4)]
    assert statuses == [200, 200, 200, 429]  # counted from the first: the files were not


def test_an_exemption_must_be_a_path_prefix(make_app):
    from pyramid.exceptions import ConfigurationError

    for prefix in ("/", "static/", "/static"):
        with pytest.raises(ConfigurationError, match="add_ratelimit_exemption"):
            make_app(include=lambda config, p=prefix: config.add_ratelimit_exemption(p))
