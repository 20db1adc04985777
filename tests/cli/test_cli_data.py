"""`benben data purge`: retention from the command line, on the embedded default database."""

from __future__ import annotations

import transaction


def test_purge_migrates_the_embedded_database_then_reports_what_it_dropped(cli, workdir):
    result = cli("data", "purge")
    assert result.code == 0, result.err
    assert result.out == "purged 0 tombstones and 0 history entries\n"
    assert (workdir / "var" / "benben.sqlite").exists()


def test_purge_drops_an_old_tombstone(cli, workdir):
    from benben.config import configure
    from benben.data.models import Collection, Record
    from benben.db import SESSION_FACTORY_KEY, get_engine, get_tm_session, migration_sources
    from benben.db.migrations import upgrade

    registry = configure({}).registry
    upgrade(get_engine(registry), migration_sources(registry))
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_tm_session(registry[SESSION_FACTORY_KEY], manager)
        session.add(Collection(id="old", last_modified=2))
        session.flush()
        session.add(Record(collection_id="old", id="gone", last_modified=1, deleted=True))
        session.add(Record(collection_id="old", id="kept", last_modified=2, data={}))
    get_engine(registry).dispose()

    result = cli("data", "purge")
    assert result.code == 0, result.err
    assert result.out == "purged 1 tombstones and 0 history entries\n"


def test_data_without_an_action_is_a_usage_error(cli, workdir):
    result = cli("data")
    assert result.code == 2
    assert "a data command is required: purge" in result.err
