"""Search declarations (searchable_fields, search_language) and the index behind them: every
record write kept in step, a declaration change reindexing (SQLite in its transaction,
PostgreSQL by a concurrent build after it, the answers right before, during and after)."""

from __future__ import annotations

import threading

import pytest
from data_support import COLLECTIONS, pointers, record_url, records_url
from sqlalchemy import text

from benben.data.search import search_document
from benben.data.search_index import SEARCH_INDEX_TASK, build_search_index, search_index_name
from benben.db import get_engine
from benben.testing import run_queued_tasks
from benben.worker.tasks import TaskContext


def found(app, user, cid, q):
    response = app.get(records_url(cid), {"_q": q, "_limit": "1000"}, headers=user.headers)
    return sorted(record["id"] for record in response.json["data"])


def declare(app, user, cid, **members):
    return app.patch_json(f"{COLLECTIONS}/{cid}", members, headers=user.headers).json


def search_indexes(registry):
    """{name: valid} of the search indexes (PostgreSQL)."""
    with get_engine(registry).connect() as connection:
        rows = connection.execute(
            text(
                "SELECT c.relname::text, i.indisvalid FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relnamespace = current_schema()::regnamespace "
                "AND c.relname LIKE 'ix_benben_rs_%'"
            )
        ).all()
    return dict(rows)


def postgresql(registry):
    return get_engine(registry).dialect.name == "postgresql"


def test_declarations_are_shown_defaulted_and_validated(app, alice):
    created = app.post_json(COLLECTIONS, {"id": "plain"}, headers=alice.headers).json
    assert (created["searchable_fields"], created["search_language"]) == ([], "simple")
    body = {"id": "bad", "searchable_fields": ["ok", "not ok", "id", "_x"]}
    refused = app.post_json(COLLECTIONS, body, headers=alice.headers, status=400)
    assert set(pointers(refused)) >= {"/searchable_fields/1", "/searchable_fields/3"}
    body = {"id": "bad", "searchable_fields": ["id"]}
    refused = app.post_json(COLLECTIONS, body, headers=alice.headers, status=400)
    assert pointers(refused) == ["/searchable_fields/0"]
    too_many = {"id": "bad", "searchable_fields": [f"f{n}" for n in range(17)]}
    assert pointers(app.post_json(COLLECTIONS, too_many, headers=alice.headers, status=400)) == [
        "/searchable_fields"
    ]
    language = app.post_json(
        COLLECTIONS, {"id": "bad", "search_language": "klingon"}, headers=alice.headers, status=400
    )
    assert pointers(language) == ["/search_language"]
    assert "english" in language.json["errors"][0]["message"]
    app.put_json(f"{COLLECTIONS}/bad", {"search_language": "french"}, headers=alice.headers)
    shown = app.get(f"{COLLECTIONS}/bad", headers=alice.headers).json
    assert (shown["searchable_fields"], shown["search_language"]) == ([], "french")


def test_declarations_change_by_merge_and_json_patch_with_history(app, alice):
    app.post_json(COLLECTIONS, {"id": "notes"}, headers=alice.headers)
    changed = declare(app, alice, "notes", searchable_fields=["title"], search_language="german")
    assert (changed["searchable_fields"], changed["search_language"]) == (["title"], "german")
    patch = [
        {"op": "add", "path": "/searchable_fields/-", "value": "body"},
        {"op": "replace", "path": "/search_language", "value": "english"},
    ]
    patched = app.patch_json(
        f"{COLLECTIONS}/notes",
        patch,
        headers={**alice.headers, "Content-Type": "application/json-patch+json"},
    ).json
    assert (patched["searchable_fields"], patched["search_language"]) == (
        ["title", "body"],
        "english",
    )
    removed = declare(app, alice, "notes", search_language=None)
    assert removed["search_language"] == "simple"
    history = app.get(f"{COLLECTIONS}/notes/history", headers=alice.headers).json["data"]
    assert history[0]["data"]["searchable_fields"] == ["title", "body"]
    assert history[0]["previous"]["search_language"] == "english"


def test_every_write_path_keeps_the_index(app, alice):
    app.post_json(COLLECTIONS, {"id": "w", "searchable_fields": ["t"]}, headers=alice.headers)
    app.put_json(record_url("w", "a"), {"data": {"t": "apple"}}, headers=alice.headers)
    posted = app.post_json(records_url("w"), {"data": {"t": "banana"}}, headers=alice.headers)
    assert found(app, alice, "w", "apple") == ["a"]
    app.put_json(record_url("w", "a"), {"data": {"t": "cherry"}}, headers=alice.headers)
    assert found(app, alice, "w", "apple") == []
    app.patch_json(record_url("w", "a"), {"data": {"t": "date"}}, headers=alice.headers)
    assert (found(app, alice, "w", "cherry"), found(app, alice, "w", "date")) == ([], ["a"])
    app.delete(record_url("w", "a"), headers=alice.headers)
    assert found(app, alice, "w", "date") == []
    app.put_json(record_url("w", "a"), {"data": {"t": "elder"}}, headers=alice.headers)
    assert found(app, alice, "w", "elder") == ["a"]
    batch = {
        "requests": [
            {
                "method": "PUT",
                "path": "/api/v1/collections/w/records/b",
                "body": {"data": {"t": "fig"}},
            },
            {"method": "DELETE", "path": f"/api/v1/collections/w/records/{posted.json['id']}"},
        ]
    }
    app.post_json("/api/v1/batch", batch, headers=alice.headers)
    assert (found(app, alice, "w", "fig"), found(app, alice, "w", "banana")) == (["b"], [])
    # A collection deleted and made again under its id starts with nothing to find.
    app.delete(f"{COLLECTIONS}/w", headers=alice.headers)
    app.post_json(COLLECTIONS, {"id": "w", "searchable_fields": ["t"]}, headers=alice.headers)
    assert found(app, alice, "w", "fig") == []


def test_a_declaration_change_reindexes_at_once(app, alice, registry):
    app.post_json(
        COLLECTIONS, {"id": "docs", "searchable_fields": ["title"]}, headers=alice.headers
    )
    for rid, title, body in (("1", "running", "apples"), ("2", "run", "pears"), ("3", "x", "")):
        data = {"title": title, "body": body}
        app.put_json(record_url("docs", rid), {"data": data}, headers=alice.headers)
    assert found(app, alice, "docs", "run") == ["2"]  # simple: no stems
    declare(app, alice, "docs", search_language="english")
    assert found(app, alice, "docs", "run") == ["1", "2"]
    declare(app, alice, "docs", searchable_fields=["body"])
    assert (found(app, alice, "docs", "run"), found(app, alice, "docs", "pear")) == ([], ["2"])
    run_queued_tasks(registry)  # PostgreSQL: the index of the last declaration, alone
    assert found(app, alice, "docs", "apple") == ["1"]
    if postgresql(registry):
        assert search_indexes(registry) == {search_index_name("docs"): True}
    declare(app, alice, "docs", searchable_fields=[])
    app.get(records_url("docs"), {"_q": "apple"}, headers=alice.headers, status=400)
    run_queued_tasks(registry)
    if postgresql(registry):
        assert search_indexes(registry) == {}


# SQLite reindexes in the change's transaction (the test above).
@pytest.mark.parametrize("backends", [("postgresql", "redis")], indirect=True, ids=["postgresql"])
def test_postgresql_builds_concurrently_answering_right_throughout(app, alice, registry):
    app.post_json(COLLECTIONS, {"id": "big", "searchable_fields": ["t"]}, headers=alice.headers)
    app.put_json(record_url("big", "a"), {"data": {"t": "needle"}}, headers=alice.headers)
    assert search_indexes(registry) == {}  # before: no index yet, the same answer
    assert found(app, alice, "big", "needle") == ["a"]
    engine = get_engine(registry)
    # A writing transaction open on the table: the build waits for it, its index not valid.
    with engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE benben_records IN ROW EXCLUSIVE MODE"))
        builder = threading.Thread(target=run_queued_tasks, args=(registry,))
        builder.start()
        name = search_index_name("big")
        deadline = threading.Event()
        while search_indexes(registry) != {name: False} and not deadline.wait(0.05):
            pass
        assert search_indexes(registry) == {name: False}
        app.put_json(record_url("big", "b"), {"data": {"t": "needle"}}, headers=alice.headers)
        assert found(app, alice, "big", "needle") == ["a", "b"]  # during: writes go on
        blocker.rollback()
    builder.join(30)
    assert not builder.is_alive()
    assert search_indexes(registry) == {name: True}
    assert found(app, alice, "big", "needle") == ["a", "b"]
    with engine.begin() as connection:  # the planner may take it
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        plan = connection.execute(
            text(
                "EXPLAIN SELECT id FROM benben_records WHERE collection_id = 'big' AND "
                "search_vector @@ websearch_to_tsquery('simple'::regconfig, 'needle')"
            )
        ).scalars()
        assert name in "\n".join(plan)
    # An index a failed build left invalid is dropped and built again.
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE pg_index SET indisvalid = false WHERE indexrelid = CAST(:name AS regclass)"
            ),
            {"name": name},
        )
    assert build_search_index(TaskContext(registry, SEARCH_INDEX_TASK), "big") == name
    assert search_indexes(registry) == {name: True}


def test_the_document_function_takes_any_json(app):
    fields = '["a", "b.c", "d", "e"]'
    data = '{"a": 1, "b": {"c": ["x", 2, null, ["y"], {"z": "w"}, "v"]}, "d": null, "e": "Up"}'
    assert search_document(data, fields, "simple").split()[1:] == ["x", "v", "up"]
    assert search_document(None, fields, "simple") == ""
    assert search_document('{"a": "x"}', fields, "not a language").split()[1:] == ["x"]
