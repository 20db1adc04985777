"""Test-only ``notes`` (a table) read through the cache and written with invalidate-after-commit
(imported by tests/cache as ``cache_notes``)."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy import Column, MetaData, String, Table, delete, insert, select

from benben.cache import NO_VALUE

metadata = MetaData()
notes = Table(
    "test_notes",
    metadata,
    Column("key", String(50), primary_key=True),
    Column("value", String(50), nullable=False),
)


def read_note_view(request: Request) -> dict[str, Any]:
    key = request.matchdict["key"]
    computed = []

    def from_database() -> str | None:
        computed.append(True)
        return request.dbsession.execute(
            select(notes.c.value).where(notes.c.key == key)
        ).scalar_one_or_none()

    value = request.cache.get_or_create(f"note:{key}", from_database)
    return {"value": value, "from": "database" if computed else "cache"}


def write_note_view(request: Request) -> dict[str, Any]:
    key = request.matchdict["key"]
    request.dbsession.execute(delete(notes).where(notes.c.key == key))
    request.dbsession.execute(insert(notes).values(key=key, value=request.params["value"]))
    request.cache.invalidate_after_commit(f"note:{key}")
    # Still cached until the transaction commits: a reader in between must not refill the
    # cache from the old row.
    still_cached = request.cache.get(f"note:{key}") is not NO_VALUE
    if request.params.get("then") == "fail":
        raise RuntimeError("failed after writing")
    return {"still_cached_before_commit": still_cached}


def include_note_views(config: Configurator) -> None:
    config.add_route("test.note", "/test/notes/{key}")
    config.add_view(read_note_view, route_name="test.note", request_method="GET", renderer="json")
    config.add_view(write_note_view, route_name="test.note", request_method="PUT", renderer="json")
