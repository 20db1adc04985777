"""``/api/v1/collections`` and ``/api/v1/collections/{cid}`` (ACLs in :mod:`.resources`).

- ``GET /api/v1/collections``: the collections the caller may see, in the API's list convention
  (:mod:`benben.listing`: ``_limit``, ``_cursor``, ``_sort``, ``_count``; by id by default).
- ``POST /api/v1/collections``: ``{"id", "title"?, "description"?, "schema"?,
  "indexed_fields"?, "permissions"?}`` -> 201 with ``Location`` and ``ETag``.
- ``GET|PUT|PATCH|DELETE /api/v1/collections/{cid}``: PUT creates or replaces (members left out
  take their defaults, ``permissions`` left out are kept); PATCH takes a merge patch or a JSON
  Patch; both accept ``?dry_run=true`` to report which existing records the resulting schema
  would refuse, storing nothing.  Changing ``permissions`` needs CHANGE_PERMISSIONS (the
  collection's ``admin``, or creating it: see :mod:`.resources`); DELETE needs ADMIN (204).
- ``record_count`` is shown to those who may read every record of the collection; to others
  (``create`` holders, record grantees) it is null: a count of what they may not read would leak.
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response as PyramidResponse
from pyramid_retry import mark_error_retryable
from sqlalchemy import exists, select

import benben.data.bodies as bodies
from benben.data.acl import (
    acl_permits,
    caller_principals,
    check_permissions_change,
    collection_acl,
    reads_every_record,
)
from benben.data.bodies import COLLECTION_CREATE, COLLECTION_PATCHES, COLLECTION_PUT
from benben.data.dry_run import dry_run_report
from benben.data.http import (
    JSON,
    Conditions,
    accept_params,
    bool_param,
    content_type,
    etag_of,
    not_modified,
)
from benben.data.inputs import check_body, check_collection_id, clean_collection_fields
from benben.data.models import Collection, CollectionGrant
from benben.data.patching import apply_patch, patch_content_type
from benben.data.resources import CollectionResource, CollectionsRoot
from benben.data.storage import (
    COLLECTION_FIELDS,
    CollectionExistsError,
    collection_fields,
    collection_json,
    create_collection,
    delete_collection,
    replace_collection,
)
from benben.data.validation import body_error, invalid
from benben.errors import ProblemError
from benben.listing import Listing, fetch_page, list_response
from benben.rest import Response, Service
from benben.security.permissions import ADMIN, CREATE, READ, WRITE
from benben.security.principals import ADMIN_ROLE

__all__ = ["collection_item", "collections"]

collections = Service(
    name="api.data.collections",
    path="/api/v1/collections",
    factory=CollectionsRoot,
    tags=["data"],
    description="Collections of JSON records.",
)
collection_item = Service(
    name="api.data.collection",
    path="/api/v1/collections/{cid}",
    factory=CollectionResource,
    tags=["data"],
    description="One collection: its schema, indexed fields and permissions.",
)

_ETAG = {"ETag": "The collection's version, quoted: its last_modified."}
_CREATED = Response("Created", bodies.COLLECTION, {**_ETAG, "Location": "Its URL."})
COLLECTIONS = Listing(
    sortable=("id", "title", "created_at", "last_modified"),
    default_sort="id",
    default_limit="benben.data.page_size",
    max_limit="benben.data.max_page_size",
)
_WRITE_RESPONSES: dict[int, Response | str] = {
    412: "If-Match or If-None-Match failed (the ETag header holds the current one).",
    415: "Content-Type not accepted.",
}
# With ?dry_run=true, a PUT or PATCH answers the report instead of the collection.
_CHANGED = Response(
    "The collection as changed (with dry_run=true: the report, nothing stored)",
    {"anyOf": [bodies.COLLECTION, bodies.DRY_RUN_REPORT]},
    _ETAG,
)


@collections.get(
    permission=READ,
    summary="List the collections you may see",
    parameters=COLLECTIONS.parameters(),
    responses={
        200: COLLECTIONS.response("A page of collections", bodies.COLLECTION, "CollectionList")
    },
)
def list_collections_view(request: Request) -> dict[str, Any]:
    params = COLLECTIONS.parse(request)
    principals = caller_principals(request)
    query = select(Collection)
    if ADMIN_ROLE not in principals:
        grants = CollectionGrant.__table__.c
        query = query.where(
            exists().where(
                grants.collection_id == Collection.id, grants.principal.in_(sorted(principals))
            )
        )
    columns = {name: getattr(Collection, name) for name in COLLECTIONS.sortable}
    page = fetch_page(request.dbsession, query, params, columns)
    data = [_json(request, collection) for collection in page.items]
    return list_response(request, data, page.next_cursor, page.total)


@collections.post(
    permission=CREATE,
    summary="Create a collection",
    body_schema=COLLECTION_CREATE,
    validators=(content_type(JSON),),
    responses={
        201: _CREATED,
        409: "A collection with this id exists.",
        415: "Content-Type not accepted.",
    },
)
def create_collection_view(request: Request) -> dict[str, Any]:
    accept_params(request)
    body = request.validated
    check_collection_id(body["id"])
    fields = clean_collection_fields(body)
    check_permissions_change(
        request, request.context, "collection", None, fields.get("permissions")
    )
    try:
        collection = create_collection(request, body["id"], fields)
    except CollectionExistsError:
        raise ProblemError(
            409,
            detail=f"A collection {body['id']} exists already.",
            errors=[body_error("/id", "is taken")],
        ) from None
    return _created(request, collection)


@collection_item.get(
    permission=READ,
    summary="Read a collection",
    parameters=[bodies.IF_NONE_MATCH_GET, bodies.IF_MATCH],
    responses={
        200: Response("The collection", bodies.COLLECTION, _ETAG),
        304: "Not modified (If-None-Match).",
        412: "If-Match failed.",
    },
)
def get_collection_view(request: Request) -> Any:
    accept_params(request)
    context: CollectionResource = request.context
    etag = context.etag
    assert etag is not None
    assert context.collection is not None
    if Conditions.from_request(request).matches_read(etag):
        return not_modified(etag)
    request.response.headers["ETag"] = etag
    return _json(request, context.collection)


@collection_item.put(
    permission=WRITE,
    summary="Create or replace a collection",
    body_schema=COLLECTION_PUT,
    validators=(content_type(JSON),),
    parameters=[bodies.IF_MATCH, bodies.IF_NONE_MATCH_PUT, bodies.DRY_RUN],
    responses={
        200: _CHANGED,
        201: _CREATED,
        409: "Created concurrently by another request (rare: the PUT is retried first).",
        **_WRITE_RESPONSES,
    },
)
def put_collection_view(request: Request) -> Any:
    accept_params(request, ("dry_run",))
    dry_run = bool_param(request, "dry_run")
    context: CollectionResource = request.context
    body = request.validated
    if "id" in body and body["id"] != context.collection_id:
        raise invalid([body_error("/id", "must be the id in the URL, or left out")])
    fields = clean_collection_fields(body)
    return _write(request, context, fields, dry_run)


@collection_item.patch(
    permission=WRITE,
    summary="Change a collection (merge patch or JSON Patch)",
    body_schemas=COLLECTION_PATCHES,
    validators=(patch_content_type,),
    parameters=[bodies.IF_MATCH, bodies.DRY_RUN],
    responses={
        200: _CHANGED,
        409: "A JSON Patch operation cannot be applied (a failed test).",
        **_WRITE_RESPONSES,
    },
)
def patch_collection_view(request: Request) -> Any:
    accept_params(request, ("dry_run",))
    dry_run = bool_param(request, "dry_run")
    context: CollectionResource = request.context
    assert context.collection is not None
    Conditions.from_request(request).check_write(context.etag)
    current = collection_fields(context.collection)
    limit = request.registry.settings["benben.data.max_record_size"]
    patched = apply_patch(request, current, COLLECTION_FIELDS, max(limit, 1 << 20))
    check_body("collection", patched)
    fields = clean_collection_fields(patched)
    fields.setdefault("permissions", {})
    return _write(request, context, fields, dry_run)


@collection_item.delete(
    permission=ADMIN,
    summary="Delete a collection and its records",
    parameters=[bodies.IF_MATCH],
    responses={
        204: "Deleted; its history stays until retention drops it.",
        412: "If-Match failed.",
    },
)
def delete_collection_view(request: Request) -> PyramidResponse:
    accept_params(request)
    context: CollectionResource = request.context
    assert context.collection is not None
    Conditions.from_request(request).check_write(context.etag)
    delete_collection(request, context.collection)
    return PyramidResponse(status=204)


def _write(
    request: Request, context: CollectionResource, fields: dict[str, Any], dry_run: bool
) -> Any:
    Conditions.from_request(request).check_write(context.etag)
    collection = context.collection
    before = dict(collection.permissions or {}) if collection is not None else None
    if before is not None:
        fields.setdefault("permissions", before)
    check_permissions_change(request, context, "collection", before, fields.get("permissions"))
    if dry_run:
        return dry_run_report(request, collection, fields.get("schema"))
    if collection is None:
        try:
            collection = create_collection(request, context.collection_id, fields)
        except CollectionExistsError:
            exc = ProblemError(409, detail="The collection was created concurrently; retry.")
            mark_error_retryable(exc)  # replayed, the PUT replaces it (if still allowed)
            raise exc from None
        return _created(request, collection)
    replace_collection(request, collection, fields)
    request.response.headers["ETag"] = etag_of(collection.last_modified)
    return _json(request, collection)


def _created(request: Request, collection: Collection) -> dict[str, Any]:
    request.response.status_code = 201
    request.response.headers["Location"] = request.route_url(
        "api.data.collection", cid=collection.id
    )
    request.response.headers["ETag"] = etag_of(collection.last_modified)
    return collection_json(collection, show_permissions=True)


def _json(request: Request, collection: Collection) -> dict[str, Any]:
    principals = caller_principals(request)
    show = acl_permits(collection_acl(collection), principals, WRITE)
    return collection_json(
        collection,
        show_permissions=show,
        show_count=reads_every_record(collection, principals),
    )
