"""Core's migrations build exactly the tables the models declare, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import benben.accounts.models
import benben.data.models
import benben.events.models
import benben.realtime.models
import benben.security.models  # noqa: F401 - the models under comparison
from benben.db.engine import create_engine_from_settings
from benben.db.meta import Base
from benben.db.migrations import MigrationSource, resolve_location, upgrade

CORE = MigrationSource("core", resolve_location("benben.db:versions"), "benben_version_core")


@pytest.fixture
def engine(backends):
    engine = create_engine_from_settings({"benben.database.url": backends.database_url()})
    yield engine
    engine.dispose()


def _expected_here(dialect_name):
    """Leave out what the models create on another dialect only (``ddl_if``), Alembic's own
    version table and plugins' tables."""

    def include_object(obj, name, type_, reflected, compare_to):
        if type_ == "table" and name == CORE.version_table:
            return False
        # Plugins share Base: a plugin's models imported by another test in this process are
        # not core's to migrate.  Core's tables all start with benben_.
        if type_ == "table" and not name.startswith("benben_"):
            return False
        # SQLite's FTS5 table of searchable text (and its shadow tables): no model, the
        # migration's own (benben.data.search).
        if type_ == "table" and name.startswith("benben_record_search"):
            return False
        # Tables and columns of one database only (benben.data.models: search_vector).
        dialect = getattr(obj, "info", {}).get("dialect") if obj is not None else None
        if dialect not in (None, dialect_name):
            return False
        ddl_if = getattr(obj, "_ddl_if", None) or getattr(compare_to, "_ddl_if", None)
        return not (ddl_if is not None and ddl_if.dialect not in (None, dialect_name))

    return include_object


def test_migrated_schema_has_no_difference_from_the_models(engine):
    upgrade(engine, [CORE])
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_object": _expected_here(connection.dialect.name),
            },
        )
        assert compare_metadata(context, Base.metadata) == []


def test_the_gin_index_exists_on_postgresql_only(engine):
    upgrade(engine, [CORE])
    names = {index["name"] for index in inspect(engine).get_indexes("benben_records")}
    assert "ix_benben_records_collection_modified" in names
    assert ("ix_benben_records_data_gin" in names) is (engine.dialect.name == "postgresql")
