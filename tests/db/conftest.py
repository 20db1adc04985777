"""Fixtures of the database tests."""

from __future__ import annotations

import pytest
from db_items import include_item_views, metadata

from benben.db import get_engine


@pytest.fixture
def items_app(make_app):
    """The app with the items views, and the items table created."""

    def factory(overrides=None, include=None, create_table=True):
        def setup(config):
            include_item_views(config)
            if include is not None:
                include(config)

        app = make_app(overrides, include=setup)
        if create_table:
            metadata.create_all(get_engine(app.app.registry))
        return app

    return factory
