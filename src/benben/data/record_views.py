"""``/api/v1/collections/{cid}/records`` and ``.../records/{rid}`` (ACLs in :mod:`.resources`).

- ``GET .../records``: a page of the records the caller may read, in the list-query language
  of :mod:`.query` (filters, ``_sort``, ``_fields``, ``_limit``, ``_cursor``, ``_count``,
  ``_since``/``_before`` with tombstones, ``_q`` and ``_highlight``: each record found by a
  search has a ``search`` member, see :mod:`.search`); the API's list envelope
  (:mod:`benben.listing`: ``{"data", "next", "total"?}``, ``Link``, ``Total-Records``) with a
  strong ``ETag`` (the collection's version, the query and the caller's principals).
- ``POST .../records``: ``{"data", "permissions"?}`` -> 201, a generated UUID id.
- ``GET|PUT|PATCH|DELETE .../records/{rid}``: PUT creates or replaces (client-chosen id:
  ``^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$``), ``If-None-Match: *`` for create-only; PATCH takes a
  merge patch or a JSON Patch of ``{"data", "permissions"}``; DELETE leaves a tombstone and
  answers it.  ``If-Match`` applies to all writes (412), ``If-None-Match`` to reads (304).

Writes that would change a record's ``permissions`` need CHANGE_PERMISSIONS on it (see
:mod:`.resources`): 403 pointing at ``/permissions`` otherwise, before anything is stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, NamedTuple

from pyramid.interfaces import IResponseFactory
from pyramid.request import Request
from pyramid.response import Response as PyramidResponse

import benben.data.bodies as bodies
from benben.cache import version_board
from benben.data.acl import check_permissions_change
from benben.data.bodies import RECORD, RECORD_BODY, RECORD_LIST, RECORD_PATCHES, TOMBSTONE
from benben.data.http import (
    JSON,
    Conditions,
    accept_params,
    content_type,
    etag_of,
    not_modified,
)
from benben.data.inputs import check_body, clean_record_body
from benben.data.patching import apply_patch, patch_content_type
from benben.data.query import parse_list_query, project
from benben.data.readcache import cached_page, store_page, usable
from benben.data.records import delete_record, new_record_id, save_record
from benben.data.resources import RecordResource, RecordsResource
from benben.data.search import search_json
from benben.data.snapshots import (
    RecordSnapshot,
    record_body,
    record_json,
    render_json,
    tombstone_json,
)
from benben.data.sql import fetch_page
from benben.data.storage import now_ms
from benben.data.validation import param_error
from benben.errors import ProblemError
from benben.listing import LIST_HEADERS, list_envelope
from benben.rest import Response, Service
from benben.security.permissions import CREATE, READ, WRITE

__all__ = ["CURSOR_SECRET_KEY", "record_item", "records"]

CURSOR_SECRET_KEY = "benben.data.cursor_secret"  # noqa: S105 - a registry key

records = Service(
    name="api.data.records",
    path="/api/v1/collections/{cid}/records",
    factory=RecordsResource,
    tags=["data"],
    description="The records of a collection.",
)
record_item = Service(
    name="api.data.record",
    path="/api/v1/collections/{cid}/records/{rid}",
    factory=RecordResource,
    tags=["data"],
    description="One record.",
)

_ETAG = {"ETag": "The record's last_modified, quoted."}
_RECORD = Response("The record", RECORD, _ETAG)
_CREATED = Response("Created", RECORD, {**_ETAG, "Location": "Its URL."})
_WRITE_RESPONSES: dict[int, Response | str] = {
    412: "If-Match or If-None-Match failed (the ETag header holds the current one).",
    413: "The record's data is larger than benben.data.max_record_size.",
    415: "Content-Type not accepted.",
}


@records.get(
    permission=READ,
    summary="List records (filters: field=value, field__op=value)",
    description="Every parameter not starting with '_' filters on a dotted data path: "
    "field=value or field__op=value, op one of eq ne lt le gt ge in nin contains "
    "startswith exists.",
    parameters=bodies.RECORD_LIST_PARAMETERS,
    responses={
        200: Response(
            "A page of records", RECORD_LIST, {"ETag": "The page's version", **LIST_HEADERS}
        ),
        304: "Not modified (If-None-Match).",
        410: "_since is older than the tombstone retention: read the collection again.",
    },
)
def list_records_view(request: Request) -> Any:
    context: RecordsResource = request.context
    collection = context.collection
    assert collection is not None
    cacheable = usable(request)
    if cacheable:
        cached: _CachedPage | None = cached_page(request, collection, context.principals)
        if cached is not None:
            # The same query text at the same version: it parsed then, and parses alike now.
            return _cached_page_response(request, cached)
    settings = request.registry.settings
    query = parse_list_query(
        request.GET,
        default_limit=settings["benben.data.page_size"],
        max_limit=settings["benben.data.max_page_size"],
        secret=request.registry[CURSOR_SECRET_KEY],
        collection_id=collection.id,
        schema=collection.schema,
        searchable_fields=collection.searchable_fields,
        search_language=collection.search_language,
    )
    _refuse_purged_changes(request, query.since)
    readable_by = None if context.full_read else context.principals
    etag = _list_etag(request, collection.last_modified, context.principals)
    if Conditions.from_request(request).matches_read(etag):
        return not_modified(etag)
    generation = version_board(request.registry).generation
    page = fetch_page(request.dbsession, collection.id, query, readable_by=readable_by)
    data = [
        tombstone_json(record)
        if record.deleted
        else record_json(
            record,
            show_permissions=context.may_write(record),
            data=project(record.data, query.fields),
        )
        for record in page.records
    ]
    if query.search is not None and page.ranks is not None:
        for item, record, rank in zip(data, page.records, page.ranks, strict=True):
            if not record.deleted:
                item["search"] = search_json(rank, query.search, record.data)
    result, headers = list_envelope(request, data, page.next_cursor, page.total)
    headers["ETag"] = etag
    request.response.headers.update(headers)
    if not cacheable:
        return result
    body = render_json(result)
    page = _CachedPage(body, headers, query.since)
    store_page(request, collection, context.principals, page, generation)
    return _json_response(request, body)


class _CachedPage(NamedTuple):
    """A rendered page kept in the read cache (:func:`.readcache.store_page`)."""

    body: bytes
    headers: dict[str, str]  # its ETag included
    since: int | None  # ``_since``, checked again: the tombstone horizon moves with time


def _cached_page_response(request: Request, page: _CachedPage) -> Any:
    """What the view answers for a page found in the read cache: the checks that depend on
    the time and on the request's preconditions, then the stored answer."""
    _refuse_purged_changes(request, page.since)
    etag = page.headers["ETag"]
    if Conditions.from_request(request).matches_read(etag):
        return not_modified(etag)
    return _read_response(request, page.body, page.headers)


def _refuse_purged_changes(request: Request, since: int | None) -> None:
    """A sync from before the tombstone retention could miss deletions purged since: 410, so the
    client knows to sync from scratch rather than trust an incomplete list of changes.
    ``_since=0`` is a first sync (nothing held yet, so no deletion to miss)."""
    days = request.registry.settings["benben.data.tombstone_retention_days"]
    if not since or days == 0:
        return
    horizon = now_ms() - days * 86_400_000
    if since < horizon:
        raise ProblemError(
            410,
            type="urn:benben:problem:changes-purged",
            detail=f"Changes since {since} may include deletions already purged (tombstones are "
            f"kept {days} days): read the whole collection again, then sync from its "
            "last_modified.",
            errors=[param_error("_since", f"older than the tombstone retention ({horizon})")],
        )


@records.post(
    permission=CREATE,
    summary="Create a record (its id is generated)",
    body_schema=RECORD_BODY,
    validators=(content_type(JSON),),
    responses={201: _CREATED, 413: _WRITE_RESPONSES[413], 415: _WRITE_RESPONSES[415]},
)
def create_record_view(request: Request) -> Any:
    accept_params(request)
    context: RecordsResource = request.context
    assert context.collection is not None
    data, permissions = clean_record_body(request, context.collection, request.validated)
    check_permissions_change(request, context, "record", None, permissions)
    record, _ = save_record(
        request, context.collection, None, new_record_id(), data=data, permissions=permissions
    )
    return _answer(request, record, created=True)


@record_item.get(
    permission=READ,
    summary="Read a record",
    parameters=[bodies.IF_NONE_MATCH_GET, bodies.IF_MATCH],
    responses={200: _RECORD, 304: "Not modified (If-None-Match).", 412: "If-Match failed."},
)
def get_record_view(request: Request) -> Any:
    accept_params(request)
    context: RecordResource = request.context
    assert context.record is not None
    assert context.etag is not None
    if Conditions.from_request(request).matches_read(context.etag):
        return not_modified(context.etag)
    show_permissions = context.permits(WRITE)
    if isinstance(context.record, RecordSnapshot):  # from the read cache: serialized once
        body = context.record.rendered(show_permissions=show_permissions)
        return _read_response(request, body, {"ETag": context.etag})
    request.response.headers["ETag"] = context.etag
    return record_json(context.record, show_permissions=show_permissions)


def _read_response(request: Request, body: bytes, headers: Mapping[str, str]) -> Any:
    """A read's JSON answer (``body`` already rendered) with ``headers``: built in one go
    (about 4 us less than filling ``request.response``, which builds a default response first
    and then rewrites its headers) when nothing was set on ``request.response`` yet and no
    response factory is configured; else ``request.response``, as any view answers."""
    if "response" not in request.__dict__ and (
        request.registry.queryUtility(IResponseFactory) is None
    ):
        # What _json_response makes of a fresh request.response, and the callbacks, tweens and
        # NewResponse subscribers see it alike: Pyramid hands on whatever response a view returns.
        headerlist = [("Content-Type", JSON), ("Content-Length", str(len(body)))]
        headerlist.extend(headers.items())
        return PyramidResponse(app_iter=[body], headerlist=headerlist)
    request.response.headers.update(headers)
    return _json_response(request, body)


def _json_response(request: Request, body: bytes) -> Any:
    """``request.response`` answering ``body`` (JSON, already rendered), as Pyramid's JSON
    renderer would: its headers set directly, which costs a third of WebOb's ``content_type``,
    ``charset`` and ``body`` setters (they parse and rewrite the header list each)."""
    response = request.response
    response.app_iter = [body]  # drops the Content-Length of the body it replaces
    response.headers["Content-Type"] = JSON
    response.content_length = len(body)
    return response


@record_item.put(
    permission=WRITE,
    summary="Create or replace a record",
    description="Record ids are 1-64 characters: letters, digits, '_' or '-', "
    "starting with a letter or digit. Permissions left out are kept.",
    body_schema=RECORD_BODY,
    validators=(content_type(JSON),),
    parameters=[bodies.IF_MATCH, bodies.IF_NONE_MATCH_PUT],
    responses={200: _RECORD, 201: _CREATED, **_WRITE_RESPONSES},
)
def put_record_view(request: Request) -> Any:
    accept_params(request)
    context: RecordResource = request.context
    assert context.collection is not None
    Conditions.from_request(request).check_write(context.etag)
    data, permissions = clean_record_body(request, context.collection, request.validated)
    check_permissions_change(request, context, "record", _current_permissions(context), permissions)
    record, created = save_record(
        request,
        context.collection,
        context.row,
        context.record_id,
        data=data,
        permissions=permissions,
    )
    return _answer(request, record, created=created)


@record_item.patch(
    permission=WRITE,
    summary="Change a record (merge patch or JSON Patch)",
    description="A merge patch (application/merge-patch+json or application/json) "
    "or a JSON Patch (application/json-patch+json) of {data, permissions}: JSON "
    "Patch paths start with /data or /permissions. The result is validated.",
    body_schemas=RECORD_PATCHES,
    validators=(patch_content_type,),
    parameters=[bodies.IF_MATCH],
    responses={
        200: _RECORD,
        409: "A JSON Patch operation cannot be applied (a failed test).",
        **_WRITE_RESPONSES,
    },
)
def patch_record_view(request: Request) -> Any:
    accept_params(request)
    context: RecordResource = request.context
    assert context.collection is not None
    assert context.record is not None
    Conditions.from_request(request).check_write(context.etag)
    limit = request.registry.settings["benben.data.max_record_size"]
    current = record_body(context.record)
    assert current is not None
    patched = apply_patch(request, current, ("data", "permissions"), limit)
    check_body("record", patched)
    data, permissions = clean_record_body(request, context.collection, patched)
    check_permissions_change(request, context, "record", current["permissions"], permissions or {})
    record, _ = save_record(
        request,
        context.collection,
        context.record,
        context.record_id,
        data=data,
        permissions=permissions or {},
    )
    return _answer(request, record, created=False)


@record_item.delete(
    permission=WRITE,
    summary="Delete a record (a tombstone remains)",
    parameters=[bodies.IF_MATCH],
    responses={200: Response("The tombstone", TOMBSTONE, _ETAG), 412: "If-Match failed."},
)
def delete_record_view(request: Request) -> Any:
    accept_params(request)
    context: RecordResource = request.context
    assert context.collection is not None
    assert context.record is not None
    Conditions.from_request(request).check_write(context.etag)
    tombstone = delete_record(request, context.collection, context.record)
    request.response.headers["ETag"] = etag_of(tombstone.last_modified)
    return _json_response(request, render_json(tombstone_json(tombstone)))


def _current_permissions(context: RecordResource) -> dict[str, list[str]]:
    """What a PUT's permissions replace: the live record's; none for a new or deleted one."""
    return dict(context.record.permissions or {}) if context.record is not None else {}


def _answer(request: Request, record: RecordSnapshot, *, created: bool) -> Any:
    """The written record, rendered here as Pyramid's JSON renderer would (see
    :func:`_json_response`)."""
    request.response.headers["ETag"] = etag_of(record.last_modified)
    if created:
        request.response.status_code = 201
        # Ids are URL-safe (COLLECTION_ID, RECORD_ID): the route's path with nothing to quote,
        # as request.route_url would generate it at several times the cost.
        path = record_item.path.format(cid=record.collection_id, rid=record.id)
        request.response.headers["Location"] = request.application_url + path
    return _json_response(request, record.rendered(show_permissions=True))


def _list_etag(request: Request, version: int, principals: frozenset[str]) -> str:
    """Strong: the collection's version changes with every write to it, and the rest names
    what was asked and who asked (principals decide what a list holds and shows)."""
    digest = hashlib.sha256()
    for name, value in sorted(request.GET.items()):
        digest.update(f"{name}\0{value}\0".encode("utf-8", "surrogatepass"))
    digest.update("\0".join(sorted(principals)).encode())
    return f'"{version}-{digest.hexdigest()[:20]}"'
