"""``POST /api/v1/batch``: data API operations executed in one transaction, all or nothing.

Body: ``{"defaults": {"method", "headers"}?, "requests": [{"method", "path", "body"?,
"headers"?}, ...]}``, at most ``benben.data.batch_max_operations`` operations, each on a path of
the data API (``/api/v1/collections...``).  Answer: ``{"responses": [{"status", "headers",
"body"}, ...]}`` when every operation succeeded (a status below 400; a GET's 304 is a success).

Each operation runs as a Pyramid subrequest of the batch request, without tweens, sharing its
transaction manager, database session, cache service (after-commit invalidations) and identity
(the credential is verified once).  So each is authorized by its own route's context factory and
permission, exactly as if sent alone, and all of them commit together.  Each counts against the
rate limit of its route's group (and ``write`` for writes), on top of the batch request itself.

The first failing operation stops the batch: the transaction is aborted (nothing is stored, no
history is written) and the answer is a problem with that operation's status, its ``type`` and
``title``, its ``errors`` relocated into the batch body (``/requests/2/body/data/price``), plus
``operation`` (its index) and ``response`` (its own status, headers and problem).  Database errors
are not caught: a serialization failure or deadlock replays the whole batch (pyramid_retry), as
it would a single request.  Batches do not deadlock one another: the collections a batch writes
are locked in id order before its first operation.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPException
from pyramid.interfaces import IRoutesMapper
from pyramid.request import Request
from pyramid.response import Response as PyramidResponse
from pyramid_retry import IRetryableError, mark_error_retryable
from sqlalchemy import select

from benben.data.http import JSON, accept_params, content_type
from benben.data.models import Collection
from benben.data.readcache import IN_BATCH_ENVIRON_KEY
from benben.data.validation import body_error, invalid
from benben.errors import PROBLEM_JSON, ProblemError, json_pointer
from benben.observability.tweens import REQUEST_ID_ENVIRON_KEY
from benben.ratelimit.counting import count_request
from benben.ratelimit.rules import LIMITS_KEY, ROUTE_GROUPS_KEY, RateLimits
from benben.ratelimit.tween import SAFE_METHODS, WRITE_GROUP
from benben.rest import Response, Service
from benben.security.policy import SecurityPolicy

__all__ = ["BATCH_BODY", "BATCH_RESULT", "batch", "includeme"]

DATA_PREFIX = "/api/v1/collections"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
# Headers of an operation's response worth returning: what a client chains on.
_KEPT_HEADERS = ("ETag", "Location", "Link")
# Headers of the failed operation that the batch's own answer needs (a 401 challenge, a 429).
_PROBLEM_HEADERS = ("WWW-Authenticate", "Retry-After")
# Set once the operations were counted: a replayed attempt (pyramid_retry) is not counted again.
_COUNTED_ENVIRON_KEY = "benben.data.batch.counted"
# Environ entries a subrequest inherits: who is calling from where, and the request id for logs.
_INHERITED_ENVIRON = ("REMOTE_ADDR", REQUEST_ID_ENVIRON_KEY)

Schema = dict[str, Any]

_HEADERS: Schema = {
    "type": "object",
    "description": "Request headers of the operation (the batch's Authorization applies).",
    "properties": {
        name: {"type": "string", "maxLength": 1024, "pattern": "^[\t -~]*$"}
        for name in ("Content-Type", "If-Match", "If-None-Match")
    },
    "additionalProperties": False,
}
OPERATION: Schema = {
    "type": "object",
    "required": ["path"],
    "properties": {
        "method": {"enum": list(METHODS)},
        "path": {
            "type": "string",
            "pattern": "^/[!-~]*$",
            "maxLength": 4096,
            "description": "A data API path with its query string: /api/v1/collections...",
        },
        "body": {"description": "The JSON body of a POST, PUT or PATCH."},
        "headers": _HEADERS,
    },
    "additionalProperties": False,
}
BATCH_BODY: Schema = {
    "type": "object",
    "required": ["requests"],
    "properties": {
        "defaults": {
            "type": "object",
            "description": "Applied to each operation: its method unless it has one, and "
            "headers it does not set itself.",
            "properties": {"method": {"enum": list(METHODS)}, "headers": _HEADERS},
            "additionalProperties": False,
        },
        "requests": {
            "type": "array",
            "minItems": 1,
            "description": "The operations, executed in order (at most "
            "benben.data.batch_max_operations).",
            "items": OPERATION,
        },
    },
    "additionalProperties": False,
    # Without a default method, every operation names its own.
    "if": {"required": ["defaults"], "properties": {"defaults": {"required": ["method"]}}},
    "else": {"properties": {"requests": {"items": {"required": ["method"]}}}},
}
BATCH_RESULT: Schema = {
    "type": "object",
    "required": ["responses"],
    "properties": {
        "responses": {
            "type": "array",
            "description": "One per operation, in order.",
            "items": {
                "type": "object",
                "required": ["status", "headers", "body"],
                "properties": {
                    "status": {"type": "integer"},
                    "headers": {
                        "type": "object",
                        "description": "ETag, Location and Link, when the operation set them.",
                        "additionalProperties": {"type": "string"},
                    },
                    "body": {"description": "The operation's JSON body; null when empty."},
                },
            },
        }
    },
}

batch = Service(
    name="api.data.batch",
    path="/api/v1/batch",
    tags=["data"],
    description="Several data API operations in one transaction.",
)

_FAILED = "An operation failed (this status is its own): nothing was stored. `operation` is its "
_FAILED += "index, `response` its own answer; `errors` point into the batch body."


@dataclass
class BatchOperation:
    """One operation of the batch, checked, with its subrequest ready to run."""

    index: int
    method: str
    path: str
    subrequest: Request
    collection_id: str | None  # the collection in its path
    group: str | None  # the rate-limit group of its route


@batch.post(
    summary="Run data API operations in one transaction (all or nothing)",
    description="Each operation is authorized and rate-limited as if sent alone; the first "
    "that fails aborts the transaction, and the batch answers with its status.",
    body_schema=BATCH_BODY,
    validators=(content_type(JSON),),
    responses={
        200: Response("Every operation succeeded; their responses", BATCH_RESULT),
        **dict.fromkeys((401, 403, 404, 405, 409, 412, 413, 415), _FAILED),
        429: "Rate limit exceeded, counting each operation (Retry-After).",
    },
)
def batch_view(request: Request) -> dict[str, Any]:
    accept_params(request)
    operations = _operations(request, request.validated)
    _count(request, operations)
    _lock_collections(request, operations)
    responses = []
    for operation in operations:
        response, retryable = _run(request, operation.subrequest)
        entry = _entry(response)
        if response.status_code >= 400:
            raise _failed(operation, response, entry, retryable)
        responses.append(entry)
    return {"responses": responses}


def _operations(request: Request, body: Mapping[str, Any]) -> list[BatchOperation]:
    """The operations with their defaults applied, or a 400 naming every one refused."""
    items = body["requests"]
    maximum = request.registry.settings["benben.data.batch_max_operations"]
    if len(items) > maximum:
        raise invalid([body_error("/requests", f"at most {maximum} operations per batch")])
    defaults = body.get("defaults") or {}
    operations: list[BatchOperation] = []
    errors: list[dict[str, str]] = []
    for index, item in enumerate(items):
        method = item.get("method") or defaults["method"]
        headers = {**defaults.get("headers", {}), **item.get("headers", {})}
        problem = _check(method, item)
        if problem is not None:
            errors.append(body_error(json_pointer("requests", index, problem[0]), problem[1]))
            continue
        subrequest = _subrequest(request, method, item, headers)
        matched, message = _data_route(request, subrequest)
        if matched is None:
            errors.append(body_error(json_pointer("requests", index, "path"), message))
            continue
        route, collection_id = matched["route"], matched["match"].get("cid")
        group = request.registry[ROUTE_GROUPS_KEY].get(route.name)
        operations.append(
            BatchOperation(index, method, item["path"], subrequest, collection_id, group)
        )
    if errors:
        raise invalid(errors)
    return operations


def _check(method: str, item: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(member, message)`` when the operation cannot be sent as given."""
    path: str = item["path"]
    if not (path == DATA_PREFIX or path.startswith((DATA_PREFIX + "/", DATA_PREFIX + "?"))):
        return "path", f"must be a path of the data API ({DATA_PREFIX}...)"
    if "#" in path:
        return "path", "must not hold a fragment"
    if method in _WITH_BODY and "body" not in item:
        return "body", f"is required for {method}"
    if method not in _WITH_BODY and "body" in item:
        return "body", f"a {method} has no body"
    return None


def _subrequest(
    request: Request, method: str, item: Mapping[str, Any], headers: Mapping[str, str]
) -> Request:
    """The operation as a request sharing the batch's transaction, session, cache and caller."""
    own_headers = dict(headers)
    authorization = request.headers.get("Authorization")
    if authorization:
        own_headers["Authorization"] = authorization
    if "body" in item and "Content-Type" not in own_headers:
        own_headers["Content-Type"] = JSON
    subrequest = Request.blank(
        item["path"], base_url=request.application_url, method=method, headers=own_headers
    )
    if "body" in item:
        subrequest.body = json.dumps(item["body"], separators=(",", ":")).encode()
    for key in _INHERITED_ENVIRON:
        if key in request.environ:
            subrequest.environ[key] = request.environ[key]
    subrequest.registry = request.registry
    request_id = getattr(request, "request_id", None)
    if request_id is not None:
        subrequest.request_id = request_id
    # Reified request attributes, set in advance: pyramid_tm's manager (and the environ marks it
    # reads), the session joined to its transaction, the cache service whose after-commit
    # invalidations follow it, and the identity already verified for the batch.
    subrequest.environ["tm.active"] = True
    subrequest.environ[IN_BATCH_ENVIRON_KEY] = True  # sees its own batch's writes: no read cache
    subrequest.environ["tm.manager"] = request.tm
    subrequest.__dict__["tm"] = request.tm
    subrequest.__dict__["dbsession"] = request.dbsession
    subrequest.__dict__["cache"] = request.cache
    SecurityPolicy.share_identity(request, subrequest)  # one credential check: a 401 for the batch
    return subrequest


def _data_route(request: Request, subrequest: Request) -> tuple[dict[str, Any] | None, str]:
    """The route and match dict of the data API the subrequest matches, or None and why."""
    try:
        subrequest.path_info  # noqa: B018 - decoding them is the check
        subrequest.GET  # noqa: B018
    except UnicodeDecodeError:
        return None, "must be UTF-8 once percent-decoded"
    matched = request.registry.getUtility(IRoutesMapper)(subrequest)
    route = matched["route"]
    if route is None or not route.pattern.startswith(DATA_PREFIX):
        return None, f"must be a path of the data API ({DATA_PREFIX}...)"
    return matched, ""


def _count(request: Request, operations: list[BatchOperation]) -> None:
    """Count each operation as the rate-limit tween counts a request: against its route's group,
    and a write against ``write`` too when that group is configured.  429 when over a limit."""
    if request.environ.get(_COUNTED_ENVIRON_KEY):
        return
    request.environ[_COUNTED_ENVIRON_KEY] = True
    limits: RateLimits = request.registry[LIMITS_KEY]
    costs: Counter[str | None] = Counter()
    for operation in operations:
        costs[operation.group] += 1
        writes = operation.method not in SAFE_METHODS and WRITE_GROUP in limits.groups
        if writes and operation.group != WRITE_GROUP:
            costs[WRITE_GROUP] += 1
    for group, cost in costs.items():
        count_request(request, group, cost)


def _lock_collections(request: Request, operations: list[BatchOperation]) -> None:
    """Lock the rows of the collections the batch writes, in id order, before any operation.

    Each write locks its collection's row until commit (see :mod:`.storage`); two batches
    writing the same collections in different orders would deadlock, and be replayed again and
    again.  Taken in one order up front, the locks make them wait for each other instead.
    (SQLite: the batch's transaction holds the database's write lock already.)
    """
    ids = sorted(
        {
            operation.collection_id
            for operation in operations
            if operation.collection_id is not None and operation.method not in SAFE_METHODS
        }
    )
    if len(ids) > 1:
        query = select(Collection.id).where(Collection.id.in_(ids)).order_by(Collection.id)
        request.dbsession.execute(query.with_for_update())


def _run(request: Request, subrequest: Request) -> tuple[PyramidResponse, bool]:
    """The operation's response, and whether its error asks for a replay.

    HTTP errors (refusals, validation, preconditions) become the problem responses they would
    be alone; any other exception (a database error) propagates, so that pyramid_tm aborts and
    pyramid_retry replays the batch as it would a single request.
    """
    try:
        return request.invoke_subrequest(subrequest, use_tweens=False), False
    except HTTPException as exc:
        if exc.code < 400:
            return exc, False
        response = subrequest.invoke_exception_view(sys.exc_info())
        return response, IRetryableError.providedBy(exc)


def _entry(response: PyramidResponse) -> dict[str, Any]:
    headers = {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers}
    body = None
    if response.body and response.content_type in (JSON, PROBLEM_JSON):
        body = json.loads(response.body)
    return {"status": response.status_code, "headers": headers, "body": body}


def _failed(
    operation: BatchOperation, response: PyramidResponse, entry: dict[str, Any], retryable: bool
) -> ProblemError:
    problem = entry["body"] if isinstance(entry["body"], dict) else {}
    status = response.status_code
    said = problem.get("detail") or problem.get("title") or response.status
    errors = [_relocate(operation.index, error) for error in problem.get("errors") or ()]
    exc = ProblemError(
        status,
        title=problem.get("title"),
        type=problem.get("type", "about:blank"),
        detail=f"Operation {operation.index} ({operation.method} {operation.path}) failed: "
        f"{said} Nothing was stored.",
        errors=errors or None,
        headers={h: response.headers[h] for h in _PROBLEM_HEADERS if h in response.headers},
        operation=operation.index,
        response=entry,
    )
    if retryable:  # a conflict with a concurrent request: the whole batch may be replayed
        mark_error_retryable(exc)
    return exc


def _relocate(index: int, error: Mapping[str, Any]) -> dict[str, Any]:
    """An operation's error, pointing into the batch body: its body, path or headers."""
    location = error.get("location")
    message = str(error.get("message", "invalid"))
    if location == "body" and "pointer" in error:
        pointer = json_pointer("requests", index, "body") + str(error["pointer"])
    elif location == "header" and error.get("name"):
        pointer = json_pointer("requests", index, "headers", error["name"])
    elif location in ("querystring", "path"):
        pointer = json_pointer("requests", index, "path")
        if error.get("name"):
            message = f"{error['name']}: {message}"
    else:
        pointer = json_pointer("requests", index)
    return {"location": "body", "pointer": pointer, "message": message}


def includeme(config: Configurator) -> None:
    config.add_cornice_service(batch)
    config.add_api_capability(
        "batch",
        "Data API operations in one transaction, all or nothing",
        "/api/v1/batch",
    )
