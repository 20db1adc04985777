"""Fixtures of the cache tests."""

from __future__ import annotations

import socket

import pytest
from cache_notes import include_note_views, metadata

from benben.db import get_engine


@pytest.fixture
def notes_app(make_app):
    """The app with the notes views, and the notes table created."""

    def factory(overrides=None):
        app = make_app(overrides, include=include_note_views)
        metadata.create_all(get_engine(app.app.registry))
        return app

    return factory


@pytest.fixture
def pair():
    """A connected pair of plain sockets: the first is read, the second plays Redis."""
    left, right = socket.socketpair()
    yield left, right
    left.close()
    right.close()
