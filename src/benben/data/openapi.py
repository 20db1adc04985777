"""Each data collection's JSON Schema in the OpenAPI document, as ``Collection_<id>_Data``.

Collections change at run time, so they are not part of the document generated from the
configuration: :func:`collection_schemas` is an OpenAPI contributor, called for every
``GET /api/v1/openapi.json``, which ``benben.data`` registers by including this module.  A
caller sees the schemas of the collections they may see, as ``GET /api/v1/collections`` lists
them (a collection's id and schema are its own business).
"""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy import exists, select

from benben.data.models import Collection, CollectionGrant
from benben.openapi.operations import add_openapi_contributor
from benben.openapi.schemas import component_name, relocate_refs
from benben.security.principals import ADMIN_ROLE, EVERYONE

__all__ = ["collection_component", "collection_schemas", "includeme"]

# A collection without a schema takes any JSON object as a record's data.
ANY_OBJECT: dict[str, Any] = {"type": "object"}


def collection_component(collection_id: str) -> str:
    return f"Collection_{component_name(collection_id)}_Data"


def collection_schemas(request: Request) -> dict[str, Any]:
    """``{"components": {"schemas": {"Collection_<id>_Data": schema}}}`` for the collections the
    caller may see (each schema placed so that its own ``#/$defs/...`` references resolve)."""
    identity = request.identity
    principals = identity.principals if identity is not None else frozenset({EVERYONE})
    query = select(Collection.id, Collection.title, Collection.schema).order_by(Collection.id)
    if ADMIN_ROLE not in principals:
        grants = CollectionGrant.__table__.c
        query = query.where(
            exists().where(
                grants.collection_id == Collection.id, grants.principal.in_(sorted(principals))
            )
        )
    schemas: dict[str, Any] = {}
    for collection_id, title, schema in request.dbsession.execute(query):
        name = collection_component(collection_id)
        placed = relocate_refs(schema if isinstance(schema, dict) else ANY_OBJECT,
                               f"/components/schemas/{name}")  # fmt: skip
        placed.setdefault(
            "description", f"The data of a record of the collection `{collection_id}`"
            + (f" ({title})." if title else ".")
        )  # fmt: skip
        schemas[name] = placed
    return {"components": {"schemas": schemas}} if schemas else {}


def includeme(config: Configurator) -> None:
    # A function, not the directive: benben.data is included before benben.openapi.
    add_openapi_contributor(config, collection_schemas)
