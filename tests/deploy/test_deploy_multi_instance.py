"""Three real instances behind nginx behave as one service.

``benben serve --ini production.ini --workers 2`` three times (PostgreSQL in a fresh schema,
Redis under a fresh prefix, one server secret and JWT secret), conf/nginx/benben.conf in front.
Checked through nginx and on each instance directly: tokens, read-after-write, rate limits,
logout, a SIGKILL, per-instance metrics (both workers of an instance in each scrape). The
instances are shared by the module's tests, so the SIGKILL comes last.
"""

from __future__ import annotations

import http.client
import itertools
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from deploy_tools import require, system_tool
from multi_instance import Cluster, Instance, call, counter, new_secret

from benben.testing import require_postgresql, require_redis
from benben.testing_auth import DEFAULT_PASSWORD, FAST_PASSWORD_HASHING

pytestmark = [pytest.mark.slow, pytest.mark.postgresql, pytest.mark.redis]

ACCOUNTS_LIMIT = 9  # requests per minute to the account routes, per user, for all instances
COLLECTION = "/api/v1/collections/notes"


def nginx() -> Any:
    return system_tool("nginx", "nginx")


def _prepare_database(settings: dict[str, str]) -> dict[str, str]:
    """Migrate the schema and add the users, in this process, while the instances boot."""
    from benben.config import configure
    from benben.db import get_engine, migration_sources
    from benben.db.migrations import upgrade
    from benben.testing_auth import add_user

    registry = configure(settings, environ={}).registry
    engine = get_engine(registry)
    try:
        upgrade(engine, migration_sources(registry))
        return {name: add_user(registry, name) for name in ("alice", "bob", "carol")}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require(nginx)
    cluster = Cluster(tmp_path_factory.mktemp("multi"), require_postgresql(), require_redis())
    try:
        cluster.create_schema()
        settings = {
            "benben.secret": new_secret(),
            "benben.jwt.secret": new_secret(),
            "benben.database.url": cluster.database_url(),
            "benben.cache.url": cluster.redis_url,
            "benben.cache.prefix": cluster.prefix,
            "benben.metrics.enabled": "open",
            "benben.security.trusted_proxies": "127.0.0.1",
            "benben.ratelimit.groups": f"auth=1000/minute accounts={ACCOUNTS_LIMIT}/minute",
            "benben.ratelimit.default": "10000/minute",
            **FAST_PASSWORD_HASHING,
        }
        with pytest.MonkeyPatch.context() as environ:
            # The masters' metrics directories, under the test's own directory: the one the
            # SIGKILL test kills cannot remove its own.
            (cluster.work / "tmp").mkdir()
            environ.setenv("TMPDIR", str(cluster.work / "tmp"))
            cluster.start(3, settings)
        cluster.users = _prepare_database(settings)
        cluster.wait_listening()
        cluster.start_nginx()
        cluster.wait_ready()
        yield cluster
    finally:
        cluster.close()


def login(base: str, username: str) -> dict[str, Any]:
    reply = call(base, "POST", "/api/v1/auth/login", {"username": username,
                                                      "password": DEFAULT_PASSWORD})  # fmt: skip
    assert reply.status == 200, reply.body
    return reply.body


@pytest.fixture(scope="module")
def alice(cluster: Cluster) -> str:
    """Alice's access token, and her collection ``notes``."""
    token = login(cluster.instances[0].url, "alice")["access_token"]
    created = call(cluster.instances[0].url, "PUT", COLLECTION, {"title": "Notes"}, token=token)
    assert created.status == 201, created.body
    return token


def everywhere(cluster: Cluster) -> list[str]:
    """Each instance directly, then nginx."""
    return [instance.url for instance in cluster.instances] + [cluster.nginx_url]


def test_a_token_issued_by_one_instance_works_on_every_other(cluster: Cluster) -> None:
    for issuer in cluster.instances:
        token = login(issuer.url, "carol")["access_token"]
        for base in everywhere(cluster):
            reply = call(base, "GET", "/api/v1/auth/me", token=token)
            assert reply.status == 200, (issuer.name, base, reply.body)
            assert reply.body["user"]["username"] == "carol"


def test_a_write_through_one_is_read_back_at_once_through_every_other(
    cluster: Cluster, alice: str
) -> None:
    record = f"{COLLECTION}/records/shared"
    writers = everywhere(cluster) * 2  # each instance, then nginx, twice
    for round_, writer in enumerate(writers):
        # Every instance reads (and may cache) the current version first: the write must
        # replace it everywhere, not only where it was made.
        for base in everywhere(cluster):
            call(base, "GET", record, token=alice)
            call(base, "GET", f"{COLLECTION}/records", token=alice)
        written = call(writer, "PUT", record, {"data": {"round": round_}}, token=alice)
        assert written.status == (201 if round_ == 0 else 200), written.body
        for base in everywhere(cluster):
            if base == writer:
                continue
            read = call(base, "GET", record, token=alice)
            assert read.status == 200, (base, read.body)
            assert read.body["data"] == {"round": round_}, (writer, base)
            assert read.headers["etag"] == written.headers["etag"]
            page = call(base, "GET", f"{COLLECTION}/records", token=alice).body
            assert [r["data"] for r in page["data"] if r["id"] == "shared"] == [{"round": round_}]


def test_a_rate_limit_holds_across_the_instances_together(cluster: Cluster) -> None:
    token = login(cluster.instances[1].url, "bob")["access_token"]
    path = f"/api/v1/users/{cluster.users['bob']}"
    targets = everywhere(cluster) * 4  # 16 requests, 4 on each instance and 4 through nginx
    statuses = {base: [] for base in everywhere(cluster)}
    for base in targets:
        statuses[base].append(call(base, "GET", path, token=token).status)
    every = [status for answers in statuses.values() for status in answers]
    # Counted per instance, 16 requests would all pass (4 each, or a few more behind nginx).
    assert every.count(200) == ACCOUNTS_LIMIT
    assert every.count(429) == len(targets) - ACCOUNTS_LIMIT
    for instance in cluster.instances:  # each refuses once the shared count is spent
        assert 429 in statuses[instance.url], instance.name


def test_a_logout_on_one_instance_is_refused_on_every_instance(cluster: Cluster) -> None:
    pair = login(cluster.instances[2].url, "carol")
    token = pair["access_token"]
    for base in everywhere(cluster):  # each instance has seen (and cached) the token as valid
        assert call(base, "GET", "/api/v1/auth/me", token=token).status == 200
    assert call(cluster.instances[0].url, "POST", "/api/v1/auth/logout", token=token).status == 204
    for base in everywhere(cluster):
        reply = call(base, "GET", "/api/v1/auth/me", token=token)
        assert reply.status == 401, base
        assert reply.body["detail"] == "the token has been revoked"
    refresh = {"refresh_token": pair["refresh_token"]}
    assert call(cluster.instances[1].url, "POST", "/api/v1/auth/refresh", refresh).status == 401


def requests_counted(instance: Instance) -> float:
    reply = call(instance.url, "GET", "/metrics")
    assert reply.status == 200
    return counter(reply.body, "benben_http_requests_total", route="/version", method="GET",
                   status="200")  # fmt: skip


def test_each_instance_counts_its_own_traffic(cluster: Cluster) -> None:
    before = [requests_counted(instance) for instance in cluster.instances]
    for times, instance in enumerate(cluster.instances, start=1):
        for _ in range(times * 2):
            assert call(instance.url, "GET", "/version").status == 200
    after = [requests_counted(instance) for instance in cluster.instances]
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 4, 6]
    # Each scrape of an instance counts all of its two workers, whichever answers it.
    for instance, counted in zip(cluster.instances, after, strict=True):
        assert {requests_counted(instance) for _ in range(6)} == {counted}

    for _ in range(6):
        assert call(cluster.nginx_url, "GET", "/version").status == 200
    through = [requests_counted(instance) for instance in cluster.instances]
    assert sum(through) - sum(after) == 6  # each request counted once, by the one that answered
    assert call(cluster.nginx_url, "GET", "/metrics").status == 404  # scraped per instance


def test_a_killed_instance_loses_no_acknowledged_write_and_nginx_serves_on(
    cluster: Cluster, alice: str
) -> None:
    victim, survivors = cluster.instances[2], cluster.instances[:2]
    acknowledged: dict[str, dict[str, Any]] = {}
    refused: list[tuple[int, Any]] = []
    enough = threading.Event()

    def write_until_cut_off() -> None:
        # One write after another, each acknowledged (or not) before the next is sent.
        try:
            for n in itertools.count():
                record = f"{COLLECTION}/records/k{n}"
                try:
                    reply = call(victim.url, "PUT", record, {"data": {"n": n}}, token=alice)
                except (OSError, http.client.HTTPException):  # refused, reset, cut mid-answer
                    return
                if reply.status != 201:
                    refused.append((reply.status, reply.body))
                    return
                acknowledged[record] = {"data": reply.body["data"], "etag": reply.headers["etag"]}
                if len(acknowledged) == 5:
                    enough.set()
        finally:
            enough.set()

    writer = threading.Thread(target=write_until_cut_off)
    writer.start()
    try:
        assert enough.wait(60)
        victim.process.send_signal(signal.SIGKILL)  # while the next writes are on their way
        assert victim.process.wait(timeout=15) == -signal.SIGKILL
    finally:
        writer.join(timeout=30)
    assert not writer.is_alive()
    assert refused == []
    assert len(acknowledged) >= 5

    for record, written in acknowledged.items():
        for base in [s.url for s in survivors] + [cluster.nginx_url]:
            read = call(base, "GET", record, token=alice)
            assert read.status == 200, (record, base)
            assert read.body["data"] == written["data"]
            assert read.headers["etag"] == written["etag"]

    # nginx keeps serving: the dead instance's requests go to the others (reads, and writes it
    # could not have delivered), so no client sees an error.
    for n in range(9):
        record = f"{COLLECTION}/records/after-{n}"
        assert call(cluster.nginx_url, "PUT", record, {"data": {"n": n}}, token=alice).status == 201
        assert call(cluster.nginx_url, "GET", record, token=alice).body["data"] == {"n": n}
        posted = call(cluster.nginx_url, "POST", f"{COLLECTION}/records", {"data": {}}, token=alice)
        assert posted.status == 201
