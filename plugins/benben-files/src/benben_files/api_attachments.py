"""Uploads: ``POST`` and ``GET .../records/{rid}/attachments``, ``PUT`` and ``DELETE``
``.../attachments/{name}`` (the download, ``GET`` of the latter, is :mod:`.api_downloads`').

Permissions follow the record (:class:`RecordContext`): who may read it lists its attachments,
who may write it uploads and deletes; a record the caller may not see is a 404, as it is on its
own URL.  ``If-Match`` and ``If-None-Match`` compare the record's ETag (its ``last_modified``,
which every change of its attachments moves), except ``If-None-Match: *``, which asks that no
attachment of that name exists (a ``PUT`` that only creates).  Every write answers the record's
new ``ETag``.

A body is ``multipart/form-data`` (a ``file`` part, named by its filename unless a ``name``
field comes before it) or the file itself (named by ``?name=`` or ``Content-Disposition:
attachment; filename*=UTF-8''...``); see :mod:`.uploads`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from benben.plugin import (
    READ,
    WRITE,
    Configurator,
    Listing,
    Parameter,
    RecordContext,
    Request,
    Response,
    Service,
    fetch_page,
    list_response,
    public_url,
)

from .api_downloads import attachment
from .attachments import (
    current_attachments,
    delete_attachment,
    record_etag,
    store_attachment,
)
from .models import Attachment
from .names import InvalidName, check_name
from .policy import EffectivePolicy, Refused, effective_policy, load_policy, param_error, used_bytes
from .schemas import ATTACHMENT, DELETED
from .settings import get_settings
from .uploads import receive_upload

__all__ = ["attachments", "includeme"]

TAGS = ["files"]
PRECONDITION_TYPE = "urn:benben:problem:precondition-failed"
PATH = [
    Parameter("cid", location="path", description="The collection's id."),
    Parameter("rid", location="path", description="The record's id."),
]
NAME = Parameter("name", location="path", description="The attachment's name.")
_BODY = (
    "The body is `multipart/form-data` with one `file` part (named by its filename, "
    "sanitised, unless a `name` field comes before it), or the file itself, its type in "
    "`Content-Type`. It is streamed to storage while hashed and sniffed: its `content_type` "
    "is what its bytes are, whatever was declared; a declared type its bytes belie (an "
    "executable sent as `image/png`) is refused. Limits come from the collection's "
    "attachment policy: `413` (with `max_file_size` or `quota_bytes`) before anything is "
    "stored when `Content-Length` says too much, `415` for a type not allowed."
)
_WRITTEN = {"ETag": "The record's new ETag.", "Location": "The attachment's download URL."}
_REFUSALS: dict[int, Response | str] = {
    400: "A name refused (path separators, control characters...), a malformed body, or "
    "attachments the policy's schema refuses (`errors` points into the record's "
    "`attachments`).",
    412: "If-Match or If-None-Match failed.",
    413: "Over the policy's `max_file_size` or the collection's quota.",
    415: "A content type the policy does not allow, or one the bytes belie.",
    503: "The file storage is unavailable.",
}

attachments = Service(
    name="files.attachments",
    path="/api/v1/collections/{cid}/records/{rid}/attachments",
    factory=RecordContext,
    tags=TAGS,
    description="A record's attachments.",
)

ATTACHMENTS = Listing(sortable=("name",), default_sort="name", unique="name")


def _accept_params(request: Request, accepted: Iterable[str] = ()) -> None:
    allowed = set(accepted)
    errors = []
    for name in request.GET:
        if name not in allowed:
            hint = f"; accepted: {', '.join(sorted(allowed))}" if allowed else ""
            errors.append(param_error(name, f"unknown parameter{hint}"))
        elif len(request.GET.getall(name)) > 1:
            errors.append(param_error(name, "must be given at most once"))
    if errors:
        raise Refused(400, "; ".join(f"{e['name']}: {e['message']}" for e in errors), errors)


def _tags(header: str | None) -> tuple[str, ...] | None:
    if header is None:
        return None
    return tuple(tag.strip() for tag in header.split(",") if tag.strip())


def _weak(tag: str) -> str:
    return tag.removeprefix("W/")


def check_preconditions(request: Request, record: Any, exists: bool) -> None:
    """412 unless ``If-Match`` (strong) names the record's ETag or is ``*``, and unless
    ``If-None-Match`` (weak) does not name it; ``If-None-Match: *``: no such attachment."""
    current = record_etag(record)
    if_match = _tags(request.headers.get("If-Match"))
    if if_match is not None and not ("*" in if_match or current in if_match):
        raise _failed("If-Match", f"the record's ETag is {current}", current)
    if_none_match = _tags(request.headers.get("If-None-Match"))
    if if_none_match is None:
        return
    if "*" in if_none_match:
        if exists:
            raise _failed("If-None-Match", "the attachment exists", current)
    elif _weak(current) in map(_weak, if_none_match):
        raise _failed("If-None-Match", f"the record's ETag is {current}", current)


def _failed(header: str, state: str, current: str) -> Refused:
    return Refused(
        412,
        f"{header} failed: {state}.",
        [param_error(header, f"failed: {state}", "header")],
        headers={"ETag": current},
        type=PRECONDITION_TYPE,
    )


def _policy(request: Request) -> EffectivePolicy:
    row = load_policy(request.dbsession, request.context.collection.id)
    return effective_policy(get_settings(request.registry), row)


def _remaining(request: Request, policy: EffectivePolicy, name: str | None) -> int | None:
    """Bytes the quota leaves (the attachment ``name`` replaced not counted); None: no quota.
    Checked again under the collection's lock before the upload commits."""
    if not policy.quota_bytes:
        return None
    context = request.context
    excluding = (context.record.id, name) if name is not None else None
    used = used_bytes(request.dbsession, context.collection.id, excluding=excluding)
    return max(0, policy.quota_bytes - used)


def _path_name(request: Request) -> str:
    try:
        return check_name(request.matchdict["name"])
    except InvalidName as exc:
        raise Refused(400, f"name: {exc}", [param_error("name", str(exc), "path")]) from None


def _written(request: Request, shown: dict[str, Any], record: Any, status: int) -> Any:
    request.response.status_code = status
    request.response.headers["ETag"] = record_etag(record)
    request.response.headers["Location"] = public_url(request) + shown["href"]
    return shown


@attachments.get(
    permission=READ,
    operation_id="listAttachments",
    summary="List a record's attachments",
    description="Sorted by name; the record's `attachments` member shows the same.",
    parameters=[*PATH, *ATTACHMENTS.parameters()],
    responses={200: ATTACHMENTS.response("A page of attachments.", ATTACHMENT, "AttachmentList")},
)
def list_attachments_view(request: Request) -> Any:
    params = ATTACHMENTS.parse(request)
    context = request.context
    shown = current_attachments(context.record)
    query = select(Attachment).where(
        Attachment.collection_id == context.collection.id,
        Attachment.record_id == context.record.id,
        # The member is the truth: a row of a deleted record's namesake waits for the sweep.
        Attachment.name.in_(list(shown)),
    )
    page = fetch_page(request.dbsession, query, params, {"name": Attachment.name})
    data = [shown[row.name] for row in page.items]
    return list_response(request, data, page.next_cursor, page.total)


@attachments.post(
    permission=WRITE,
    operation_id="uploadAttachment",
    summary="Attach a file to a record",
    description=_BODY + " A name the record already has is a `409`: replace it with `PUT`.",
    parameters=[
        *PATH,
        Parameter("name", description="The attachment's name (raw bodies without a filename)."),
    ],
    responses={
        201: Response("Attached.", ATTACHMENT, _WRITTEN),
        409: "The record has an attachment of that name.",
        **_REFUSALS,
    },
)
def upload_view(request: Request) -> Any:
    _accept_params(request, ("name",))
    context = request.context
    check_preconditions(request, context.record, exists=False)
    policy = _policy(request)
    taken = current_attachments(context.record)

    def refuse_taken(name: str) -> None:
        if name in taken:
            raise Refused(
                409,
                f"The record already has an attachment named {name!r}: replace it with PUT.",
                [param_error("name", "is taken")],
            )

    upload = receive_upload(
        request,
        policy,
        name=None,
        remaining=_remaining(request, policy, None),
        on_name=refuse_taken,
    )
    shown, _, record = store_attachment(request, context, upload, policy, replace=False)
    return _written(request, shown, record, 201)


@attachment.put(
    permission=WRITE,
    operation_id="putAttachment",
    summary="Create or replace a record's attachment",
    description=_BODY + " `If-None-Match: *` creates only (412 when the name is taken).",
    parameters=[*PATH, NAME],
    responses={
        200: Response("Replaced.", ATTACHMENT, _WRITTEN),
        201: Response("Created.", ATTACHMENT, _WRITTEN),
        **_REFUSALS,
    },
)
def put_view(request: Request) -> Any:
    _accept_params(request)
    name = _path_name(request)
    context = request.context
    check_preconditions(request, context.record, name in current_attachments(context.record))
    policy = _policy(request)
    upload = receive_upload(
        request,
        policy,
        name=name,
        remaining=_remaining(request, policy, name),
        on_name=lambda _: None,
    )
    shown, created, record = store_attachment(request, context, upload, policy, replace=True)
    return _written(request, shown, record, 201 if created else 200)


@attachment.delete(
    permission=WRITE,
    operation_id="deleteAttachment",
    summary="Delete a record's attachment",
    description="Its content is removed from storage once nothing references it (the orphan "
    "sweep). A name the policy's schema requires cannot be deleted (409): replace it instead.",
    parameters=[*PATH, NAME],
    responses={
        200: Response("Deleted.", DELETED, {"ETag": "The record's new ETag."}),
        404: "No such record, or no such attachment.",
        409: "The collection's attachment policy requires it.",
        412: "If-Match or If-None-Match failed.",
    },
)
def delete_view(request: Request) -> Any:
    _accept_params(request)
    name = _path_name(request)
    context = request.context
    check_preconditions(request, context.record, name in current_attachments(context.record))
    record = delete_attachment(request, context, name, _policy(request))
    request.response.headers["ETag"] = record_etag(record)
    return {"name": name, "deleted": True, "last_modified": record.last_modified}


def includeme(config: Configurator) -> None:
    # ``attachment`` (PUT, DELETE here, GET there) is registered by api_downloads.
    config.add_cornice_service(attachments)
    # Upload bodies stream to the view, not copied for retries, up to the largest file the
    # instance allows plus the multipart envelope (a policy may lower it, never raise it).
    limit = get_settings(config.registry).max_file_size + 1024 * 1024
    config.add_body_limit(r"/api/v1/collections/[^/]+/records/[^/]+/attachments(/[^/]+)?", limit)
