"""ETags and preconditions, strictly increasing timestamps, and concurrent writers."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import webtest
from data_support import COLLECTIONS, record_url, records_url

NOTES = f"{COLLECTIONS}/notes"


@pytest.fixture
def note(app, alice, notes):
    return app.put_json(record_url("notes", "n1"), {"data": {"count": 0}}, headers=alice.headers)


def test_reads_answer_304_for_a_matching_if_none_match(app, alice, note):
    etag = note.headers["ETag"]
    url = record_url("notes", "n1")
    for tag in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = app.get(url, headers={**alice.headers, "If-None-Match": tag}, status=304)
        assert response.headers["ETag"] == etag
        assert response.body == b""
    assert app.get(url, headers={**alice.headers, "If-None-Match": '"1"'}).json["data"] == {
        "count": 0
    }
    app.get(url, headers={**alice.headers, "If-Match": '"1"'}, status=412)
    app.get(url, headers={**alice.headers, "If-Match": etag})
    collection = app.get(NOTES, headers=alice.headers)
    app.get(
        NOTES, headers={**alice.headers, "If-None-Match": collection.headers["ETag"]}, status=304
    )


def test_writes_check_if_match_and_if_none_match(app, alice, note):
    url = record_url("notes", "n1")
    etag = note.headers["ETag"]
    stale = app.put_json(
        url, {"data": {"count": 1}}, headers={**alice.headers, "If-Match": '"1"'}, status=412
    )
    assert stale.headers["ETag"] == etag  # what the client should have sent
    assert stale.json["type"] == "urn:benben:problem:precondition-failed"
    assert stale.json["errors"][0]["name"] == "If-Match"
    weak = app.put_json(
        url, {"data": {}}, headers={**alice.headers, "If-Match": f"W/{etag}"}, status=412
    )
    assert weak.json["errors"][0]["name"] == "If-Match"
    updated = app.put_json(url, {"data": {"count": 1}}, headers={**alice.headers, "If-Match": etag})
    new_etag = updated.headers["ETag"]
    assert new_etag != etag
    for method, body in (("patch_json", {"data": {"count": 2}}), ("delete", None)):
        kwargs = {"params": body} if body is not None else {}
        getattr(app, method)(url, headers={**alice.headers, "If-Match": etag}, status=412, **kwargs)
    app.patch_json(url, {"data": {"count": 2}}, headers={**alice.headers, "If-Match": "*"})
    # Create-only: If-None-Match: * refuses an existing record, creates a missing one.
    app.put_json(url, {"data": {}}, headers={**alice.headers, "If-None-Match": "*"}, status=412)
    app.put_json(
        record_url("notes", "n2"),
        {"data": {}},
        headers={**alice.headers, "If-None-Match": "*"},
        status=201,
    )
    # If-Match on a record that does not exist fails, even "*".
    for tag in ("*", etag):
        app.put_json(
            record_url("notes", "n3"),
            {"data": {}},
            headers={**alice.headers, "If-Match": tag},
            status=412,
        )
    current = app.get(url, headers=alice.headers)
    app.delete(url, headers={**alice.headers, "If-Match": current.headers["ETag"]})
    # A deleted record is missing: create-only works again.
    app.put_json(url, {"data": {}}, headers={**alice.headers, "If-None-Match": "*"}, status=201)
    assert app.get(url, headers=alice.headers).json["data"] == {}


def test_collection_writes_check_preconditions(app, alice, notes):
    etag = app.get(NOTES, headers=alice.headers).headers["ETag"]
    app.patch_json(NOTES, {"title": "x"}, headers={**alice.headers, "If-Match": '"5"'}, status=412)
    app.delete(NOTES, headers={**alice.headers, "If-Match": '"5"'}, status=412)
    app.put_json(NOTES, {}, headers={**alice.headers, "If-None-Match": "*"}, status=412)
    changed = app.patch_json(NOTES, {"title": "x"}, headers={**alice.headers, "If-Match": etag})
    assert changed.headers["ETag"] != etag
    app.put_json(
        f"{COLLECTIONS}/fresh", {}, headers={**alice.headers, "If-None-Match": "*"}, status=201
    )
    app.delete(NOTES, headers={**alice.headers, "If-Match": changed.headers["ETag"]}, status=204)


def test_list_etags_change_with_writes_query_and_caller(app, alice, carol, note):
    app.patch_json(NOTES, {"permissions": {"read": ["group:staff"]}}, headers=alice.headers)
    first = app.get(records_url("notes"), headers=alice.headers)
    etag = first.headers["ETag"]
    assert app.get(records_url("notes"), headers=alice.headers).headers["ETag"] == etag
    app.get(records_url("notes"), headers={**alice.headers, "If-None-Match": etag}, status=304)
    assert (
        app.get(records_url("notes"), {"_limit": "1"}, headers=alice.headers).headers["ETag"]
        != etag
    )
    assert app.get(records_url("notes"), headers=carol.headers).headers["ETag"] != etag
    app.post_json(records_url("notes"), {"data": {}}, headers=alice.headers)
    after = app.get(records_url("notes"), headers={**alice.headers, "If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["ETag"] != etag
    assert len(after.json["data"]) == 2


def test_last_modified_strictly_increases_per_collection(app, alice, notes):
    stamps = []
    for index in range(25):
        response = app.put_json(
            record_url("notes", f"r{index % 5}"), {"data": {"i": index}}, headers=alice.headers
        )
        stamps.append(response.json["last_modified"])
    stamps.append(
        app.delete(record_url("notes", "r0"), headers=alice.headers).json["last_modified"]
    )
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    assert app.get(NOTES, headers=alice.headers).json["last_modified"] == stamps[-1]


def _threads(count, work):
    errors = []

    def run(index):
        try:
            work(index)
        except BaseException as exc:  # reported below, with its thread
            errors.append((index, exc))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def test_sixteen_read_modify_write_clients_lose_no_update(app, alice, note):
    """Each client reads the record, increments the counter and writes it back with If-Match,
    starting over on 412: every increment must survive."""
    url = record_url("notes", "n1")
    increments = 4
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def client(_index):
        own = webtest.TestApp(app.app)
        for _ in range(increments):
            while True:
                current = own.get(url, headers=alice.headers)
                data = {"count": current.json["data"]["count"] + 1}
                response = own.put_json(
                    url,
                    {"data": data},
                    status="*",
                    headers={**alice.headers, "If-Match": current.headers["ETag"]},
                )
                with lock:
                    statuses[response.status_code] += 1
                if response.status_code == 200:
                    break
                assert response.status_code == 412, response.text

    _threads(16, client)
    final = app.get(url, headers=alice.headers).json
    assert final["data"]["count"] == 16 * increments
    assert statuses[200] == 16 * increments
    assert set(statuses) <= {200, 412}
    history = app.get(
        f"{NOTES}/history", {"record_id": "n1", "action": "update"}, headers=alice.headers
    ).json["data"]
    counts = [entry["data"]["data"]["count"] for entry in history]
    assert counts == list(range(16 * increments, 0, -1))


def test_concurrent_creators_in_one_collection_all_succeed(app, alice, notes):
    created: list[int] = []
    lock = threading.Lock()

    def creator(index):
        own = webtest.TestApp(app.app)
        for number in range(5):
            response = own.post_json(
                records_url("notes"),
                {"data": {"by": index, "n": number}},
                headers=alice.headers,
                status="*",
            )
            assert response.status_code == 201, response.text
            with lock:
                created.append(response.json["last_modified"])

    _threads(16, creator)
    assert len(set(created)) == 80  # no two changes share a timestamp
    collection = app.get(NOTES, headers=alice.headers).json
    assert collection["record_count"] == 80
    assert collection["last_modified"] == max(created)
    listed = app.get(records_url("notes"), {"_limit": "100"}, headers=alice.headers).json
    assert len(listed["data"]) == 80


def test_concurrent_puts_of_one_new_collection(app, alice):
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def put(index):
        own = webtest.TestApp(app.app)
        response = own.put_json(
            f"{COLLECTIONS}/race", {"title": f"t{index}"}, headers=alice.headers, status="*"
        )
        with lock:
            statuses[response.status_code] += 1

    _threads(8, put)
    assert statuses[201] == 1
    assert statuses[200] == 7
