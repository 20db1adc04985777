"""PostgreSQL's stored search vectors: the trigger writing each record's vector whatever writes
it, searches reading the column only while it is ready for the declaration, the recomputation
in batches after a change, and a change during a build never marked ready."""

from __future__ import annotations

import pytest
from data_support import COLLECTIONS, record_url, records_url
from sqlalchemy import text

from benben.data.search_postgresql import (
    invalidate_vectors,
    mark_ready,
    recompute_vectors,
    vector_generation,
)
from benben.db import get_engine
from benben.testing import run_queued_tasks

pytestmark = pytest.mark.parametrize(
    "backends", [("postgresql", "redis")], indirect=True, ids=["postgresql"]
)


def found(app, user, cid, q):
    # Read from the database: forget_vector changes no version, a cached page would be kept.
    headers = {**user.headers, "Cache-Control": "no-cache"}
    response = app.get(records_url(cid), {"_q": q, "_limit": "1000"}, headers=headers)
    return sorted(record["id"] for record in response.json["data"])


def vectors(registry, cid):
    """{record id: its stored vector as text, None when it holds none}."""
    with get_engine(registry).connect() as connection:
        rows = connection.execute(
            text("SELECT id, search_vector::text FROM benben_records WHERE collection_id = :cid"),
            {"cid": cid},
        ).all()
    return dict(rows)


def expected(registry, language, *texts):
    with get_engine(registry).connect() as connection:
        return connection.execute(
            text("SELECT to_tsvector(CAST(:language AS regconfig), :text)::text"),
            {"language": language, "text": " ".join(texts)},
        ).scalar_one()


def ready(registry, cid):
    with get_engine(registry).connect() as connection:
        return vector_generation(connection, cid)


def forget_vector(registry, cid, rid):
    """The stored vector of a record emptied behind the trigger's back (it fires on data and
    deleted only): a search that reads the column no longer finds the record."""
    with get_engine(registry).begin() as connection:
        connection.execute(
            text(
                "UPDATE benben_records SET search_vector = NULL "
                "WHERE collection_id = :cid AND id = :rid"
            ),
            {"cid": cid, "rid": rid},
        )


def test_the_trigger_writes_the_vector_with_every_write(app, alice, registry):
    body = {"id": "n", "searchable_fields": ["title", "tags"], "search_language": "english"}
    app.post_json(COLLECTIONS, body, headers=alice.headers)
    app.post_json(COLLECTIONS, {"id": "plain"}, headers=alice.headers)
    data = {"title": "Running cats", "tags": ["green", 3, "tea"], "other": "ignored"}
    app.put_json(record_url("n", "a"), {"data": data}, headers=alice.headers)
    app.put_json(record_url("plain", "a"), {"data": data}, headers=alice.headers)
    assert vectors(registry, "n") == {"a": expected(registry, "english", "Running cats green tea")}
    assert vectors(registry, "plain") == {"a": None}  # declares nothing
    app.patch_json(record_url("n", "a"), {"data": {"title": "Sleeping"}}, headers=alice.headers)
    assert vectors(registry, "n") == {"a": expected(registry, "english", "Sleeping green tea")}
    app.delete(record_url("n", "a"), headers=alice.headers)
    assert vectors(registry, "n") == {"a": None}  # a tombstone
    batch = {
        "requests": [
            {"method": "PUT", "path": record_url("n", "b"), "body": {"data": {"title": "Owls"}}}
        ]
    }
    app.post_json("/api/v1/batch", batch, headers=alice.headers)
    assert vectors(registry, "n")["b"] == expected(registry, "english", "Owls")


def test_searches_read_the_column_only_while_it_is_ready(app, alice, registry):
    body = {"id": "d", "searchable_fields": ["title"]}
    app.post_json(COLLECTIONS, body, headers=alice.headers)
    for rid, title, summary in (("1", "apple", "pear"), ("2", "apple", "plum")):
        data = {"title": title, "summary": summary}
        app.put_json(record_url("d", rid), {"data": data}, headers=alice.headers)
    assert ready(registry, "d") == (1, False)  # the index is not built yet
    forget_vector(registry, "d", "2")
    assert found(app, alice, "d", "apple") == ["1", "2"]  # the expression, from the data
    run_queued_tasks(registry)
    assert ready(registry, "d") == (1, True)
    assert vectors(registry, "d")["2"] == expected(registry, "simple", "apple")  # recomputed
    forget_vector(registry, "d", "2")
    assert found(app, alice, "d", "apple") == ["1"]  # the column: it is read
    # A change: the expression at once, from its commit; the column once recomputed.
    app.patch_json(f"{COLLECTIONS}/d", {"searchable_fields": ["summary"]}, headers=alice.headers)
    assert ready(registry, "d") == (2, False)
    assert (found(app, alice, "d", "apple"), found(app, alice, "d", "plum")) == ([], ["2"])
    app.put_json(record_url("d", "3"), {"data": {"summary": "plum"}}, headers=alice.headers)
    assert vectors(registry, "d")["3"] == expected(registry, "simple", "plum")  # the new one
    run_queued_tasks(registry)
    assert ready(registry, "d") == (2, True)
    assert vectors(registry, "d") == {
        "1": expected(registry, "simple", "pear"),
        "2": expected(registry, "simple", "plum"),
        "3": expected(registry, "simple", "plum"),
    }
    assert found(app, alice, "d", "plum") == ["2", "3"]
    ranked = app.get(records_url("d"), {"_q": "plum", "_sort": "-_rank"}, headers=alice.headers)
    assert all(record["search"]["rank"] > 0 for record in ranked.json["data"])
    # Declaring nothing: the vectors are cleared, the index dropped.
    app.patch_json(f"{COLLECTIONS}/d", {"searchable_fields": []}, headers=alice.headers)
    run_queued_tasks(registry)
    assert set(vectors(registry, "d").values()) == {None}
    assert ready(registry, "d") == (3, False)


def test_a_change_during_a_build_is_not_marked_ready(app, alice, registry):
    app.post_json(COLLECTIONS, {"id": "r", "searchable_fields": ["t"]}, headers=alice.headers)
    run_queued_tasks(registry)
    engine = get_engine(registry)
    with engine.begin() as connection:
        invalidate_vectors(connection, "r")  # what a declaration change does
    assert ready(registry, "r") == (2, False)
    with engine.begin() as connection:
        invalidate_vectors(connection, "r")  # another change while generation 2 is built
    with engine.begin() as connection:
        assert mark_ready(connection, "r", 2) is False
    assert ready(registry, "r") == (3, False)
    with engine.begin() as connection:
        assert mark_ready(connection, "r", 3) is True
    assert ready(registry, "r") == (3, True)


def test_vectors_are_recomputed_in_batches_in_key_order(app, alice, registry):
    app.post_json(COLLECTIONS, {"id": "b", "searchable_fields": ["t"]}, headers=alice.headers)
    words = ["one", "two", "three", "four", "five"]
    for word in words:
        app.put_json(record_url("b", word), {"data": {"t": word}}, headers=alice.headers)
        forget_vector(registry, "b", word)
    with get_engine(registry).connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        assert recompute_vectors(connection, "b", batch_records=2) == 5
        assert recompute_vectors(connection, "b", only_stored=True, batch_records=2) == 5
    assert vectors(registry, "b") == {word: expected(registry, "simple", word) for word in words}
