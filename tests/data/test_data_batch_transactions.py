"""POST /api/v1/batch as a transaction: its limits, replays on database conflicts, concurrent
batches, and what it shares with its operations (identity, cache invalidations)."""

from __future__ import annotations

import sqlite3
import threading

import webtest
from batch_support import BATCH, get, history, put
from data_support import COLLECTIONS, make_user, pointers, record_url, records_url
from sqlalchemy.exc import OperationalError

from benben.cache import NO_VALUE, REGION_KEY
from benben.data import record_views
from benben.security import policy

NOTES = f"{COLLECTIONS}/notes"


def test_at_most_the_configured_number_of_operations(make_app):
    app = make_app({"benben.data.batch_max_operations": "2"})
    alice = make_user(app, "alice")
    app.post_json(COLLECTIONS, {"id": "notes"}, headers=alice.headers)
    three = [put("notes", f"r{i}", {}) for i in range(3)]
    response = app.post_json(BATCH, {"requests": three}, headers=alice.headers, status=400)
    assert pointers(response) == ["/requests"]
    assert "at most 2" in response.json["errors"][0]["message"]
    app.get(record_url("notes", "r0"), headers=alice.headers, status=404)
    app.post_json(BATCH, {"requests": three[:2]}, headers=alice.headers)
    app.get(record_url("notes", "r1"), headers=alice.headers)


def test_each_operation_is_counted_by_the_rate_limiter(make_app):
    app = make_app({"benben.ratelimit.enabled": "true", "benben.ratelimit.default": "10/minute",
                    "benben.ratelimit.groups": "auth=50/minute write=6/minute"})  # fmt: skip
    alice = make_user(app, "alice")
    app.post_json(COLLECTIONS, {"id": "notes"}, headers=alice.headers)  # default 1, write 1
    ops = [get(records_url("notes")), put("notes", "r1", {}), put("notes", "r2", {})]
    response = app.post_json(BATCH, {"requests": ops}, headers=alice.headers)
    # default: 1 + 1 (the batch) + 3 = 5 of 10; write: 1 + 1 + 2 = 4 of 6, the tightest.
    assert response.headers["RateLimit-Limit"] == "6"
    assert response.headers["RateLimit-Remaining"] == "2"

    # Two more writes: 5 (with the batch) + 2 is over write's limit: all refused, nothing done.
    more = [put("notes", "r3", {}), put("notes", "r4", {})]
    refused = app.post_json(BATCH, {"requests": more}, headers=alice.headers, status=429)
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.content_type == "application/problem+json"
    app.get(record_url("notes", "r3"), headers=alice.headers, status=404)  # default: 9

    # Reads count against the default limit: 9 + 1 (the batch) + 2 > 10 (write is at 6 of 6).
    reads = [get(records_url("notes")), get(NOTES)]
    refused = app.post_json(BATCH, {"requests": reads}, headers=alice.headers, status=429)
    assert refused.headers["RateLimit-Limit"] == "10"


def test_a_transient_database_error_replays_the_whole_batch(app, alice, notes, monkeypatch):
    calls = []
    save = record_views.save_record

    def flaky(request, collection, current, record_id, **kwargs):
        calls.append(record_id)
        if len(calls) == 2:  # the second operation, first attempt
            locked = sqlite3.OperationalError("database is locked")
            raise OperationalError("UPDATE benben_collections", {}, locked)
        return save(request, collection, current, record_id, **kwargs)

    monkeypatch.setattr(record_views, "save_record", flaky)
    ops = [{"method": "POST", "path": records_url("notes"), "body": {"data": {"n": 1}}},
           put("notes", "r2", {"n": 2})]  # fmt: skip
    results = app.post_json(BATCH, {"requests": ops}, headers=alice.headers).json["responses"]
    assert [r["status"] for r in results] == [201, 201]
    assert len(calls) == 4  # two attempts of two operations
    # The first attempt's record was rolled back: only the replay's is stored.
    listed = app.get(records_url("notes"), headers=alice.headers).json["data"]
    assert sorted(r["id"] for r in listed) == sorted([results[0]["body"]["id"], "r2"])
    assert [e[1] for e in history(app, alice)] == ["create", "create", "create"]


def test_a_persistent_database_error_answers_503_and_stores_nothing(app, alice, notes, monkeypatch):
    def locked(*args, **kwargs):
        raise OperationalError("UPDATE", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(record_views, "delete_record", locked)
    app.put_json(record_url("notes", "r1"), {"data": {}}, headers=alice.headers)
    ops = [put("notes", "r2", {}), {"method": "DELETE", "path": record_url("notes", "r1")}]
    response = app.post_json(BATCH, {"requests": ops}, headers=alice.headers, status=503)
    assert response.headers["Retry-After"] == "1"
    app.get(record_url("notes", "r2"), headers=alice.headers, status=404)


def test_concurrent_batches_crossing_collections_all_succeed(make_app):
    """Batches writing two collections in opposite orders: the batch locks the collections it
    writes in one order up front, so they wait for each other rather than deadlock (no replay
    needed: one attempt each)."""
    app = make_app({"benben.database.retry_attempts": "1"})
    alice = make_user(app, "alice")
    for cid in ("left", "right"):
        app.post_json(COLLECTIONS, {"id": cid}, headers=alice.headers)
    statuses: list[int] = []
    lock = threading.Lock()

    def writer(index):
        own = webtest.TestApp(app.app)
        order = ("left", "right") if index % 2 else ("right", "left")
        for number in range(3):
            ops = [put(cid, f"t{index}-{number}", {"by": index}) for cid in order]
            response = own.post_json(BATCH, {"requests": ops}, headers=alice.headers, status="*")
            with lock:
                statuses.append(response.status_code)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert statuses == [200] * 18
    for cid in ("left", "right"):
        assert app.get(f"{COLLECTIONS}/{cid}", headers=alice.headers).json["record_count"] == 18
        assert len(history(app, alice, cid)) == 19


def test_the_credential_is_verified_once_for_every_operation(app, alice, notes, monkeypatch):
    calls = []
    compute = policy.compute_identity
    monkeypatch.setattr(policy, "compute_identity", lambda r: calls.append(r) or compute(r))
    ops = [put("notes", f"r{i}", {}) for i in range(4)] + [get(records_url("notes"))]
    results = app.post_json(BATCH, {"requests": ops}, headers=alice.headers).json["responses"]
    assert len(calls) == 1
    assert {r["body"]["created_by"] for r in results[:4]} == {alice.id}


def test_cache_invalidations_follow_the_batch_transaction(app, registry, alice, notes, monkeypatch):
    region = registry[REGION_KEY]
    save = record_views.save_record

    def invalidating(request, *args, **kwargs):
        request.cache.invalidate_after_commit("batch-test")
        return save(request, *args, **kwargs)

    monkeypatch.setattr(record_views, "save_record", invalidating)
    region.set("batch-test", "cached")
    failing = [put("notes", "r1", {}), {"method": "DELETE", "path": record_url("notes", "none")}]
    app.post_json(BATCH, {"requests": failing}, headers=alice.headers, status=404)
    assert region.get("batch-test") == "cached"  # aborted: not invalidated
    app.post_json(BATCH, {"requests": failing[:1]}, headers=alice.headers)
    assert region.get("batch-test") is NO_VALUE  # committed: invalidated
