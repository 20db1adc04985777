"""What a restore rebuilds (benben.data.restore_rebuild): a database whose rows are all there but
whose derived structures are not (as a raw load leaves it) gets its declared-field indexes,
search index and markers back, and loses the indexes of collections it no longer holds."""

from __future__ import annotations

from data_support import COLLECTIONS, records_url
from sqlalchemy import text

from benben.data.indexes import ensure_indexes, index_name
from benben.data.restore_rebuild import rebuild_after_restore
from benben.data.search_index import search_index_name
from benben.db import get_engine
from benben.testing import run_queued_tasks


def record_indexes(engine):
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'index'"
        return set(connection.execute(text(query)).scalars())


def strip_derived(engine):
    """What a load of the rows alone leaves: no per-collection index, no search data."""
    with engine.begin() as connection:
        for name in record_indexes(engine):
            if name.startswith(("ix_benben_rq_", "ix_benben_rs_")):
                connection.execute(text(f'DROP INDEX "{name}"'))
        if engine.dialect.name == "postgresql":
            connection.execute(text("DELETE FROM benben_search_vectors"))
            # A load with triggers disabled: no vector written.
            connection.execute(text("UPDATE benben_records SET search_vector = NULL"))
        else:
            connection.execute(text("DELETE FROM benben_record_search"))
        # An index of a collection the archive does not hold (restore --force).
        ensure_indexes(connection, "gone", (), ["colour"])


def search(app, user, q):
    response = app.get(records_url("books"), {"_q": q}, headers=user.headers)
    return sorted(record["id"] for record in response.json["data"])


def test_indexes_and_search_rebuilt_from_the_rows(app, alice):
    app.post_json(
        COLLECTIONS,
        {
            "id": "books",
            "indexed_fields": ["price"],
            "searchable_fields": ["title"],
            "search_language": "english",
        },
        headers=alice.headers,
    )
    app.post_json(COLLECTIONS, {"id": "plain"}, headers=alice.headers)
    for rid, title, price in [("dune", "Dune messiah", 10), ("emma", "Emma", 20)]:
        body = {"data": {"title": title, "price": price}}
        app.put_json(f"{records_url('books')}/{rid}", body, headers=alice.headers)
    registry = app.app.registry
    run_queued_tasks(registry)
    engine = get_engine(registry)
    strip_derived(engine)
    assert index_name("books", "price") not in record_indexes(engine)

    with engine.begin() as connection:
        rebuild_after_restore(connection)

    indexes = record_indexes(engine)
    assert index_name("books", "price") in indexes
    assert index_name("gone", "colour") not in indexes
    if engine.dialect.name == "postgresql":
        assert search_index_name("books") in indexes
        with engine.connect() as connection:
            marker = connection.execute(
                text("SELECT ready, searchable_fields, search_language FROM benben_search_vectors")
            ).all()
            missing = connection.execute(
                text("SELECT count(*) FROM benben_records WHERE search_vector IS NULL")
            ).scalar_one()
        assert [tuple(row) for row in marker] == [(True, ["title"], "english")]
        assert missing == 0
    else:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT count(*) FROM benben_record_search"))
            assert rows.scalar_one() == 2
    assert search(app, alice, "messiahs") == ["dune"]  # stemmed in English
    filtered = app.get(records_url("books"), {"price__gt": "15"}, headers=alice.headers)
    assert [record["id"] for record in filtered.json["data"]] == ["emma"]


def test_a_rebuild_over_a_complete_database_changes_nothing_searched(app, alice):
    app.post_json(
        COLLECTIONS, {"id": "books", "searchable_fields": ["title"]}, headers=alice.headers
    )
    body = {"data": {"title": "Dune"}}
    app.put_json(f"{records_url('books')}/dune", body, headers=alice.headers)
    app.delete(f"{records_url('books')}/dune", headers=alice.headers)
    app.put_json(f"{records_url('books')}/emma", {"data": {"title": "Emma"}}, headers=alice.headers)
    engine = get_engine(app.app.registry)
    run_queued_tasks(app.app.registry)
    with engine.begin() as connection:
        rebuild_after_restore(connection)
        rebuild_after_restore(connection)  # idempotent: a second run finds it all in place
    assert search(app, alice, "emma") == ["emma"]
    assert search(app, alice, "dune") == []  # the tombstone stays out of the index
