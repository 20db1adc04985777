"""Record creation, the hottest write: from a collection snapshot held in memory, checked when
written; on PostgreSQL one statement committed on its own."""

from __future__ import annotations

import pytest
from data_support import COLLECTIONS, record_url, records_url, subscribed
from sqlalchemy import text

from benben.db import get_engine
from benben.testing import eventually

POSTGRESQL = pytest.mark.parametrize("backends", [("postgresql", "redis")], indirect=True)


@pytest.fixture(autouse=True)
def _subscribed(app):
    subscribed(app)


def rows(app, sql, **parameters):
    with get_engine(app.app.registry).connect() as connection:
        return connection.execute(text(sql), parameters).all()


def create(app, alice, shelf, data):
    return app.post_json(records_url(shelf), {"data": data}, headers=alice.headers).json


def test_consecutive_creations_read_the_collection_from_memory(app, alice, shelf, queries):
    create(app, alice, shelf, {"n": 0})  # after b1's PUT the collection is read once
    with queries.counting() as statements:
        created = [create(app, alice, shelf, {"n": n}) for n in range(1, 4)]
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert reads == []
    stamps = [record["last_modified"] for record in created]
    assert stamps == sorted(set(stamps))
    collection = app.get(f"{COLLECTIONS}/{shelf}", headers=alice.headers).json
    assert collection["last_modified"] == stamps[-1]
    assert collection["record_count"] == 5  # b1, n=0 and these three


@POSTGRESQL
def test_on_postgresql_a_creation_is_one_statement_writing_everything(app, alice, shelf, queries):
    create(app, alice, shelf, {"n": 0})  # the collection snapshot is now in memory
    with queries.counting() as statements:
        created = app.post_json(
            records_url(shelf),
            {"data": {"n": 1}, "permissions": {"read": ["system.Authenticated"]}},
            headers=alice.headers,
        ).json
    assert len(statements) == 1
    (grants,) = rows(
        app,
        "SELECT count(*) FROM benben_record_grants WHERE record_id = :rid",
        rid=created["id"],
    )
    assert grants[0] == 2  # the read grant and the creator's write grant
    history = rows(
        app,
        "SELECT action, timestamp, data FROM benben_history WHERE record_id = :rid",
        rid=created["id"],
    )
    assert [(h.action, h.timestamp) for h in history] == [("create", created["last_modified"])]
    assert history[0].data == {
        "data": {"n": 1},
        "permissions": {"read": ["system.Authenticated"]},
    }


def test_a_creation_in_a_collection_deleted_behind_the_cache_is_404(app, alice, shelf):
    app.get(records_url(shelf), headers=alice.headers)  # the snapshot is in memory
    with get_engine(app.app.registry).begin() as connection:  # as another instance would
        connection.execute(text("DELETE FROM benben_collections WHERE id = 'shelf'"))
    app.post_json(records_url(shelf), {"data": {"n": 9}}, headers=alice.headers, status=404)
    assert rows(app, "SELECT id FROM benben_records WHERE collection_id = 'shelf'") == []
    creations = (
        "SELECT count(*) FROM benben_history WHERE resource = 'record' AND action = 'create'"
    )
    assert rows(app, creations)[0][0] == 1  # the fixture's record only: nothing half-written


@POSTGRESQL
def test_another_instance_lists_a_created_record_at_once(app, make_app, alice, shelf):
    other = subscribed(make_app())
    other.get(records_url(shelf), headers=alice.headers)  # its page is cached
    for n in range(1, 6):
        created = app.post_json(records_url(shelf), {"data": {"n": n}}, headers=alice.headers)
        rid = created.json["id"]

        def seen(rid=rid, n=n):
            listed = other.get(records_url(shelf), headers=alice.headers).json["data"]
            assert rid in [record["id"] for record in listed]
            assert other.get(record_url(shelf, rid), headers=alice.headers).json["data"] == {"n": n}

        eventually(seen)


def test_a_reader_seeing_the_new_version_finds_the_new_snapshot(app, alice, shelf, monkeypatch):
    """While a creation is being announced (a Redis round trip), other threads serve reads: the
    collection as committed must already be in memory, or they all read the database."""
    from benben.cache import VERSIONS_KEY
    from benben.data.readcache import NEAR_CACHE_KEY

    registry = app.app.registry
    board, near = registry[VERSIONS_KEY], registry[NEAR_CACHE_KEY]
    seen = []
    announce = board.announce

    def observing(versions):
        seen.append((versions.get(shelf), near.get(("c", shelf)).last_modified))
        announce(versions)

    monkeypatch.setattr(board, "announce", observing)
    created = app.post_json(records_url(shelf), {"data": {"n": 1}}, headers=alice.headers).json
    assert seen == [(created["last_modified"], created["last_modified"])]
