"""A test-only ``items`` table and views over it (imported by tests/db as ``db_items``)."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from benben.db import get_engine

metadata = MetaData()
items = Table(
    "test_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
)


def add_item_view(request: Request) -> dict[str, Any]:
    request.dbsession.execute(insert(items).values(name=request.params["name"]))
    request.dbsession.flush()
    if request.params.get("then") == "fail":
        raise RuntimeError("failed after writing")
    return {"added": request.params["name"]}


def list_items_view(request: Request) -> dict[str, Any]:
    names = request.dbsession.execute(select(items.c.name).order_by(items.c.id)).scalars()
    return {"items": list(names)}


def include_item_views(config: Configurator) -> None:
    config.add_route("test.items", "/test/items")
    config.add_view(add_item_view, route_name="test.items", request_method="POST", renderer="json")
    config.add_view(list_items_view, route_name="test.items", request_method="GET", renderer="json")


def stored_names(registry: Any) -> list[str]:
    """What the database holds, read outside any request."""
    with get_engine(registry).connect() as connection:
        return list(connection.execute(select(items.c.name).order_by(items.c.id)).scalars())
