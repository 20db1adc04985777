"""The read cache: hot reads answered from memory, never stale after a commit, on both backends
and across instances sharing Redis."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from data_support import (
    COLLECTIONS,
    DataQueries,
    make_user,
    record_url,
    records_url,
    subscribed,
)

from benben.cache import VERSIONS_KEY
from benben.data.readcache import NEAR_CACHE_KEY
from benben.db import get_engine
from benben.testing import eventually


@pytest.fixture(autouse=True)
def _subscribed(app):
    subscribed(app)


def test_a_repeated_read_issues_no_data_query(app, alice, shelf, queries):
    first = app.get(record_url(shelf, "b1"), headers=alice.headers)
    with queries.counting() as statements:
        again = app.get(record_url(shelf, "b1"), headers=alice.headers)
    assert statements == []
    assert again.body == first.body  # the same bytes, from the database or from memory
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.content_type == "application/json"
    # 304s and HEAD come from the cache too
    with queries.counting() as statements:
        app.get(
            record_url(shelf, "b1"),
            headers={**alice.headers, "If-None-Match": first.headers["ETag"]},
            status=304,
        )
        app.head(record_url(shelf, "b1"), headers=alice.headers)
    assert statements == []


def test_a_repeated_page_issues_no_data_query(app, alice, shelf, queries):
    url = records_url(shelf) + "?_sort=title&_limit=1"
    app.put_json(record_url(shelf, "b2"), {"data": {"title": "Emma"}}, headers=alice.headers)
    first = app.get(url, headers=alice.headers)
    with queries.counting() as statements:
        again = app.get(url, headers=alice.headers)
    assert statements == []
    assert again.body == first.body
    assert again.headers["Link"] == first.headers["Link"]
    assert again.headers["ETag"] == first.headers["ETag"]


def test_a_cached_page_is_refused_once_its_since_falls_behind_the_retention(
    app, alice, shelf, queries, monkeypatch
):
    """The tombstone horizon moves with the clock: a page kept in memory is checked again."""
    import benben.data.record_views as record_views

    days = app.app.registry.settings["benben.data.tombstone_retention_days"]
    since = record_views.now_ms() - days * 86_400_000 + 3_600_000  # an hour inside it
    url = records_url(shelf) + f"?_since={since}"
    first = app.get(url, headers=alice.headers)
    later = record_views.now_ms() + 2 * 3_600_000
    monkeypatch.setattr(record_views, "now_ms", lambda: later)
    with queries.counting() as statements:
        gone = app.get(url, headers=alice.headers, status=410)
    assert statements == []  # answered from the cached page, not by reading it again
    assert gone.json["type"] == "urn:benben:problem:changes-purged"
    monkeypatch.undo()
    assert app.get(url, headers=alice.headers).body == first.body


def test_a_cached_page_links_to_the_host_it_was_asked_of(app, alice, shelf):
    app.put_json(record_url(shelf, "b2"), {"data": {"title": "Emma"}}, headers=alice.headers)
    url = records_url(shelf) + "?_sort=title&_limit=1"
    for host in ("one.example", "two.example", "one.example"):
        page = app.get(url, headers={**alice.headers, "Host": host})
        assert page.json["next"].startswith(f"http://{host}/"), page.json["next"]
        assert page.headers["Link"].startswith(f"<http://{host}/")


def test_a_page_asked_with_its_parameters_reordered_links_in_that_order(app, alice, shelf):
    """The same records and ETag; the next link keeps the order asked (whichever order was
    cached first), and a query that would not parse is refused though its twin is cached."""
    app.put_json(record_url(shelf, "b2"), {"data": {"title": "Emma"}}, headers=alice.headers)
    base = records_url(shelf)
    for _ in range(2):  # answered, then from memory
        first = app.get(base + "?_sort=title&_limit=1", headers=alice.headers)
        again = app.get(base + "?_limit=1&_sort=title", headers=alice.headers)
        assert again.json["data"] == first.json["data"]
        assert again.headers["ETag"] == first.headers["ETag"]
        assert "?_sort=title&_limit=1&_cursor=" in first.json["next"]
        assert "?_limit=1&_sort=title&_cursor=" in again.json["next"]
        assert app.get(again.json["next"], headers=alice.headers).json["data"][0]["id"] == "b2"
    app.get(
        base + "?_limit=1&_sort=title",
        headers={**alice.headers, "If-None-Match": first.headers["ETag"]},
        status=304,
    )
    app.get(base + "?_limit=1&_sort=title&_sort=id", headers=alice.headers, status=400)


def test_every_write_is_read_back_at_once(app, alice, shelf):
    for i in range(5):
        app.get(record_url(shelf, "b1"), headers=alice.headers)
        app.get(records_url(shelf), headers=alice.headers)
        app.patch_json(record_url(shelf, "b1"), {"data": {"n": i}}, headers=alice.headers)
        assert app.get(record_url(shelf, "b1"), headers=alice.headers).json["data"]["n"] == i
        page = app.get(records_url(shelf), headers=alice.headers).json["data"]
        assert [r["data"]["n"] for r in page] == [i]
    app.delete(record_url(shelf, "b1"), headers=alice.headers)
    app.get(record_url(shelf, "b1"), headers=alice.headers, status=404)
    assert app.get(records_url(shelf), headers=alice.headers).json["data"] == []


def test_permission_changes_apply_at_once(app, alice, shelf):
    bob = make_user(app, "bob")
    app.get(record_url(shelf, "b1"), headers=bob.headers, status=404)
    app.patch_json(
        f"{COLLECTIONS}/{shelf}", {"permissions": {"read": [bob.principal]}}, headers=alice.headers
    )
    assert app.get(record_url(shelf, "b1"), headers=bob.headers).json["data"] == {"title": "Dune"}
    app.patch_json(f"{COLLECTIONS}/{shelf}", {"permissions": {"read": []}}, headers=alice.headers)
    app.get(record_url(shelf, "b1"), headers=bob.headers, status=404)
    app.get(records_url(shelf), headers=bob.headers, status=404)


def test_callers_with_other_rights_get_their_own_answer(app, alice, shelf):
    bob = make_user(app, "bob")
    app.patch_json(
        f"{COLLECTIONS}/{shelf}", {"permissions": {"read": [bob.principal]}}, headers=alice.headers
    )
    for _ in range(2):  # the second round is served from the cache
        assert "permissions" in app.get(record_url(shelf, "b1"), headers=alice.headers).json
        assert "permissions" not in app.get(record_url(shelf, "b1"), headers=bob.headers).json
        assert "permissions" in app.get(records_url(shelf), headers=alice.headers).json["data"][0]
        assert "permissions" not in app.get(records_url(shelf), headers=bob.headers).json["data"][0]


def test_no_cache_reads_the_database(app, alice, shelf, queries):
    app.get(record_url(shelf, "b1"), headers=alice.headers)
    with queries.counting() as statements:
        app.get(record_url(shelf, "b1"), headers={**alice.headers, "Cache-Control": "no-cache"})
    assert statements


def test_a_rolled_back_batch_announces_nothing(app, alice, shelf):
    board = app.app.registry[VERSIONS_KEY]
    app.get(record_url(shelf, "b1"), headers=alice.headers)
    before = board.current(shelf)
    operations = [
        {"method": "PUT", "path": record_url(shelf, "b1"), "body": {"data": {"title": "Lost"}}},
        {"method": "GET", "path": record_url(shelf, "b1")},
        {"method": "GET", "path": record_url(shelf, "nope")},  # 404: the whole batch rolls back
    ]
    response = app.post_json(
        "/api/v1/batch", {"requests": operations}, headers=alice.headers, status=404
    )
    assert response.json["operation"] == 2
    assert board.current(shelf) == before
    assert app.get(record_url(shelf, "b1"), headers=alice.headers).json["data"]["title"] == "Dune"


def test_a_batch_reads_its_own_writes(app, alice, shelf):
    app.get(record_url(shelf, "b1"), headers=alice.headers)  # cached before the batch
    operations = [
        {"method": "PUT", "path": record_url(shelf, "b1"), "body": {"data": {"title": "New"}}},
        {"method": "GET", "path": record_url(shelf, "b1")},
    ]
    results = app.post_json("/api/v1/batch", {"requests": operations}, headers=alice.headers)
    assert results.json["responses"][1]["body"]["data"] == {"title": "New"}
    assert app.get(record_url(shelf, "b1"), headers=alice.headers).json["data"] == {"title": "New"}


def test_an_untrusted_board_sends_every_read_to_the_database(app, alice, shelf, queries):
    registry = app.app.registry
    app.get(record_url(shelf, "b1"), headers=alice.headers)
    registry[VERSIONS_KEY].forget(trusted=False)  # as when the Redis subscription is lost
    assert len(registry[NEAR_CACHE_KEY]) == 0
    for _ in range(2):
        with queries.counting() as statements:
            got = app.get(record_url(shelf, "b1"), headers=alice.headers)
        assert statements
        assert got.json["data"] == {"title": "Dune"}


def test_disabled_by_setting(make_app, app_settings):
    app = make_app({**app_settings, "benben.data.cache.enabled": "false"})
    assert NEAR_CACHE_KEY not in app.app.registry
    alice = make_user(app, "alice")
    app.put_json(f"{COLLECTIONS}/off", {}, headers=alice.headers, status=201)
    app.put_json(record_url("off", "r"), {"data": {"a": 1}}, headers=alice.headers)
    assert app.get(record_url("off", "r"), headers=alice.headers).json["data"] == {"a": 1}


# Instances share versions through Redis; the memory cache belongs to one process.
@pytest.mark.parametrize("backends", [("postgresql", "redis")], indirect=True)
def test_instances_sharing_redis_see_each_others_writes_at_once(backends, make_app, alice, app):
    other = subscribed(make_app())
    app.put_json(f"{COLLECTIONS}/shared", {}, headers=alice.headers, status=201)
    url = record_url("shared", "r")
    for i in range(10):
        app.put_json(url, {"data": {"n": i}}, headers=alice.headers)

        # Redis flushes the announcement as it answers the writer; a read on the other
        # instance first takes in what was delivered (RedisVersionBoard._settle).
        def fresh(i=i):
            assert other.get(url, headers=alice.headers).json["data"] == {"n": i}
            assert other.get(records_url("shared"), headers=alice.headers).json["data"][0][
                "data"
            ] == {"n": i}

        eventually(fresh)


def change_schema_behind_the_cache(app, collection_id, schema):
    """A schema change committed by another instance whose announcement has not arrived."""
    from sqlalchemy import text

    with get_engine(app.app.registry).begin() as connection:
        connection.execute(
            text(
                "UPDATE benben_collections SET schema = :schema, updated_at = :now,"
                " last_modified = last_modified + 1 WHERE id = :id"
            ),
            {"schema": json.dumps(schema), "now": datetime.datetime.now(datetime.UTC),
             "id": collection_id},
        )  # fmt: skip


def test_a_creation_validates_against_the_schema_it_commits_with(app, alice, shelf):
    app.get(record_url(shelf, "b1"), headers=alice.headers)  # the snapshot is cached
    strict = {"type": "object", "required": ["isbn"]}
    change_schema_behind_the_cache(app, shelf, strict)
    # Read unlocked from the stale snapshot, the body passes the old schema; taking the lock,
    # the write finds the collection changed and is replayed against the new one.
    response = app.post_json(records_url(shelf), {"data": {"title": "x"}}, headers=alice.headers,
                             status=400)  # fmt: skip
    assert [e["pointer"] for e in response.json["errors"]] == ["/data/isbn"]
    created = app.post_json(
        records_url(shelf), {"data": {"isbn": "1"}}, headers=alice.headers, status=201
    )
    assert created.json["data"] == {"isbn": "1"}


@pytest.mark.parametrize("backends", [("postgresql", "redis")], indirect=True)
def test_with_a_replica_only_reads_made_with_the_snapshot_are_cached(backends, make_app):
    from sqlalchemy.engine import make_url

    url = make_url(backends.database_url())
    options = f"-csearch_path={backends.schema} -cdefault_transaction_read_only=on"
    replica = url.update_query_dict({"options": options}).render_as_string(hide_password=False)
    app = subscribed(make_app({"benben.database.read_url": replica}))
    alice = make_user(app, "alice")
    app.put_json(f"{COLLECTIONS}/lagging", {}, headers=alice.headers, status=201)
    for rid in ("a", "b"):
        app.put_json(record_url("lagging", rid), {"data": {"id": rid}}, headers=alice.headers)
    from benben.db import get_replica_engine

    counter = DataQueries(app.app.registry, get_replica_engine(app.app.registry))
    # The writes cached the collection as they committed it: start from a read of it instead.
    app.app.registry[NEAR_CACHE_KEY].clear()
    try:
        app.get(record_url("lagging", "a"), headers=alice.headers)  # snapshot and record: cached
        with counter.counting() as statements:
            app.get(record_url("lagging", "a"), headers=alice.headers)
        assert statements == []
        # The snapshot now comes from memory: a replica behind it could answer an older "b",
        # which must not be cached under the snapshot's version.
        for _ in range(2):
            with counter.counting() as statements:
                got = app.get(record_url("lagging", "b"), headers=alice.headers)
            assert len(statements) == 1
            assert got.json["data"] == {"id": "b"}
    finally:
        counter.close()


def test_metrics_count_near_cache_hits(make_app, app_settings):
    app = subscribed(make_app({**app_settings, "benben.metrics.enabled": "open"}))
    alice = make_user(app, "alice")
    app.put_json(f"{COLLECTIONS}/m", {}, headers=alice.headers, status=201)
    app.put_json(record_url("m", "r"), {"data": {}}, headers=alice.headers)
    for _ in range(3):
        app.get(record_url("m", "r"), headers=alice.headers)
    text = app.get("/metrics").text
    hits = re.search(r'benben_near_cache_reads_total\{cache="data",result="hit"\} (\S+)', text)
    assert hits is not None
    assert float(hits.group(1)) >= 4
    assert 'benben_near_cache_reads_total{cache="identity",result="hit"}' in text


def _tagging(config):
    """A response factory and a NewRequest subscriber, as a plugin might add."""
    from pyramid.events import NewRequest
    from pyramid.response import Response

    def factory(request):
        response = Response()
        response.headers["X-Made-By"] = "factory"
        return response

    def early(event):
        if event.request.headers.get("X-Touch"):
            event.request.response.headers["X-Touched"] = "yes"

    config.set_response_factory(factory)
    config.add_subscriber(early, NewRequest)


@pytest.mark.parametrize("touched", [False, True])
def test_cached_reads_keep_what_the_app_set_on_the_response(make_app, touched):
    """Reads answered from memory build their response in one go only when nothing would be
    lost: a configured response factory, or headers set on request.response, are kept."""
    app = subscribed(make_app(include=_tagging))
    owner = make_user(app, "owner")
    app.put_json(f"{COLLECTIONS}/tagged", {}, headers=owner.headers, status=201)
    app.put_json(record_url("tagged", "t1"), {"data": {"n": 1}}, headers=owner.headers)
    headers = {**owner.headers, **({"X-Touch": "1"} if touched else {})}
    for url in (record_url("tagged", "t1"), records_url("tagged")):
        for _ in range(2):  # from the database, then from memory
            response = app.get(url, headers=headers)
            assert response.headers["X-Made-By"] == "factory"
            assert response.headers.get("X-Touched") == ("yes" if touched else None)
            assert response.content_type == "application/json"
            assert response.headers["ETag"]


def test_a_cached_read_is_one_response_with_its_headers_once(app, alice, shelf):
    for url in (record_url(shelf, "b1"), records_url(shelf)):
        for _ in range(2):  # from the database, then from memory
            response = app.get(url, headers={**alice.headers, "X-Request-ID": "r-1"})
            names = [name.lower() for name, _ in response.headerlist]
            assert len(names) == len(set(names)), names
            assert response.headers["Content-Type"] == "application/json"
            assert int(response.headers["Content-Length"]) == len(response.body)
            assert response.headers["X-Request-ID"] == "r-1"
