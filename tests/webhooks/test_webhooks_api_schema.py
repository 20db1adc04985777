"""The plugin's migrations build exactly the tables its models declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import benben_webhooks.models  # noqa: F401 - the models under comparison
from benben.db import get_engine, migration_sources
from benben.db.meta import Base


def _differences(engine):
    def webhooks_only(obj, name, type_, reflected, compare_to):
        # Core's tables (and other plugins') are their migrations' business, not this test's.
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
        return str(table).startswith("webhooks_")

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": webhooks_only}
        )
        return compare_metadata(context, Base.metadata)


def test_migrated_tables_have_no_difference_from_the_models(app):
    registry = app.app.registry
    assert "webhooks" in [source.name for source in migration_sources(registry)]
    assert _differences(get_engine(registry)) == []
