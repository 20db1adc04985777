"""Record writes read without a lock and write conditionally (see benben.data.storage): racing
writers lose nothing, preconditions are judged against what is current, and a write is validated
against the schema in force when it commits.  On both backends."""

from __future__ import annotations

import datetime
import json
import threading
from collections import Counter

import pytest
import webtest
from data_support import COLLECTIONS, record_url, subscribed
from sqlalchemy import text

from benben.db import get_engine

NOTES = f"{COLLECTIONS}/notes"


@pytest.fixture(autouse=True)
def _subscribed(app):
    subscribed(app)  # reads and record writes use the read cache, as in production


def _race(count, request):
    """``request(own_app, index)`` from ``count`` threads released together; their statuses."""
    statuses: Counter[int] = Counter()
    errors = []
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def run(index, own):
        try:
            barrier.wait(timeout=30)
            status = request(own, index).status_code
            with lock:
                statuses[status] += 1
        except BaseException as exc:  # reported below, with its thread
            errors.append((index, exc))

    threads = [
        threading.Thread(target=run, args=(i, webtest.TestApp(request.app))) for i in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return statuses


def _history(app, alice, record_id, action):
    params = {"action": action, "resource": "record", "_limit": "100"}
    if record_id is not None:
        params["record_id"] = record_id
    return app.get(f"{NOTES}/history", params, headers=alice.headers).json["data"]


def test_patches_racing_with_one_if_match_exactly_one_wins(app, alice, notes):
    first = app.put_json(record_url("notes", "n1"), {"data": {"by": None}}, headers=alice.headers)
    etag = first.headers["ETag"]

    def patch(own, index):
        return own.patch_json(
            record_url("notes", "n1"),
            {"data": {"by": index}},
            headers={**alice.headers, "If-Match": etag},
            status="*",
        )

    patch.app = app.app
    statuses = _race(8, patch)
    assert statuses == {200: 1, 412: 7}
    winner = app.get(record_url("notes", "n1"), headers=alice.headers).json
    updates = _history(app, alice, "n1", "update")
    assert [entry["data"]["data"] for entry in updates] == [winner["data"]]
    assert winner["data"]["by"] is not None


def test_deletes_racing_with_one_if_match_delete_once(app, alice, notes):
    etag = app.put_json(record_url("notes", "d1"), {"data": {}}, headers=alice.headers).headers[
        "ETag"
    ]

    def delete(own, _index):
        url = record_url("notes", "d1")
        return own.delete(url, headers={**alice.headers, "If-Match": etag}, status="*")

    delete.app = app.app
    statuses = _race(6, delete)
    # Losers find the record changed (412) or, replayed after the commit, gone (404).
    assert statuses[200] == 1
    assert set(statuses) <= {200, 404, 412}
    assert len(_history(app, alice, "d1", "delete")) == 1
    assert app.get(NOTES, headers=alice.headers).json["record_count"] == 0


def test_writes_to_different_records_all_succeed_in_timestamp_order(app, alice, notes):
    writers, rounds = 6, 3
    for index in range(writers):
        app.put_json(record_url("notes", f"r{index}"), {"data": {"n": 0}}, headers=alice.headers)
    stamps: list[int] = []
    lock = threading.Lock()

    def write(own, index):
        url = record_url("notes", f"r{index}")
        for n in range(1, rounds + 1):
            if n % 2:
                response = own.patch_json(url, {"data": {"n": n}}, headers=alice.headers)
            else:
                response = own.put_json(url, {"data": {"n": n}}, headers=alice.headers)
            with lock:
                stamps.append(response.json["last_modified"])
        return response

    write.app = app.app
    assert _race(writers, write) == {200: writers}
    assert len(set(stamps)) == writers * rounds  # distinct: no two changes share a timestamp
    collection = app.get(NOTES, headers=alice.headers).json
    assert collection["last_modified"] == max(stamps)
    assert collection["record_count"] == writers
    updates = _history(app, alice, None, "update")
    assert sorted(entry["timestamp"] for entry in updates) == sorted(stamps)
    # History in commit order is timestamp order: newest first, as listed.
    listed = [entry["timestamp"] for entry in updates]
    assert listed == sorted(listed, reverse=True)
    for index in range(writers):
        got = app.get(record_url("notes", f"r{index}"), headers=alice.headers).json
        assert got["data"] == {"n": rounds}


def test_concurrent_puts_of_one_new_record_create_it_once(app, alice, notes):
    def put(own, index):
        url = record_url("notes", "fresh")
        return own.put_json(url, {"data": {"by": index}}, headers=alice.headers, status="*")

    put.app = app.app
    statuses = _race(6, put)
    assert statuses[201] == 1
    assert statuses[200] == 5
    assert len(_history(app, alice, "fresh", "create")) == 1
    assert len(_history(app, alice, "fresh", "update")) == 5


def change_record_behind_the_cache(app, record_id, data):
    """A record write committed by another instance whose announcement has not arrived."""
    with get_engine(app.app.registry).begin() as connection:
        connection.execute(
            text(
                "UPDATE benben_collections SET last_modified = last_modified + 1 WHERE id = 'notes'"
            )
        )
        connection.execute(
            text(
                "UPDATE benben_records SET data = :data, last_modified ="
                " (SELECT last_modified FROM benben_collections WHERE id = 'notes')"
                " WHERE collection_id = 'notes' AND id = :id"
            ),
            {"data": json.dumps(data), "id": record_id},
        )


def test_a_precondition_is_judged_against_the_record_as_it_is_when_written(app, alice, notes):
    url = record_url("notes", "n1")
    etag = app.put_json(url, {"data": {"a": 1}}, headers=alice.headers).headers["ETag"]
    app.get(url, headers=alice.headers)  # cached: the stale snapshot the writes below read
    change_record_behind_the_cache(app, "n1", {"a": 2})
    for write in (
        lambda: app.patch_json(url, {"data": {"b": 1}}, headers={**alice.headers, "If-Match": etag},
                               status=412),
        lambda: app.put_json(url, {"data": {}}, headers={**alice.headers, "If-Match": etag},
                             status=412),
        lambda: app.delete(url, headers={**alice.headers, "If-Match": etag}, status=412),
    ):  # fmt: skip
        refused = write()
        assert refused.headers["ETag"] != etag  # the current one, read by the replay
    # Without a precondition, a merge patch applies to the current data, not the stale copy.
    patched = app.patch_json(url, {"data": {"b": 1}}, headers=alice.headers)
    assert patched.json["data"] == {"a": 2, "b": 1}


def test_a_patch_is_validated_against_the_schema_it_commits_with(app, alice, notes):
    url = record_url("notes", "n1")
    app.put_json(url, {"data": {"title": "x"}}, headers=alice.headers)
    app.get(url, headers=alice.headers)  # the collection's snapshot is cached
    strict = {"type": "object", "required": ["isbn"]}
    with get_engine(app.app.registry).begin() as connection:
        connection.execute(
            text(
                "UPDATE benben_collections SET schema = :schema, updated_at = :now,"
                " last_modified = last_modified + 1 WHERE id = 'notes'"
            ),
            {"schema": json.dumps(strict), "now": datetime.datetime.now(datetime.UTC)},
        )
    # Passes the cached (old) schema; the bump finds the collection changed, and the replay
    # validates against the new one.
    refused = app.patch_json(url, {"data": {"title": "y"}}, headers=alice.headers, status=400)
    assert [e["pointer"] for e in refused.json["errors"]] == ["/data/isbn"]
    assert app.get(url, headers=alice.headers).json["data"] == {"title": "x"}
    patched = app.patch_json(url, {"data": {"isbn": "1"}}, headers=alice.headers)
    assert patched.json["data"] == {"title": "x", "isbn": "1"}


def test_a_create_only_put_of_an_id_taken_meanwhile_is_412(app, alice, notes):
    url = record_url("notes", "late")
    app.get(url, headers=alice.headers, status=404)  # "no such record" is cached
    with get_engine(app.app.registry).begin() as connection:  # another instance creates it
        connection.execute(
            text(
                "INSERT INTO benben_records (collection_id, id, data, permissions, created_by,"
                " last_modified, deleted) VALUES ('notes', 'late', :data, '{}', NULL, 1, false)"
            ),
            {"data": json.dumps({"by": "other"})},
        )
    # Read as missing, the INSERT meets the id taken: replayed, the precondition then fails.
    app.put_json(url, {"data": {}}, headers={**alice.headers, "If-None-Match": "*"}, status=412)
    replaced = app.put_json(url, {"data": {"by": "alice"}}, headers=alice.headers)
    assert replaced.status_code == 200
    assert app.get(url, headers=alice.headers).json["data"] == {"by": "alice"}
