"""Downloads: ``GET``/``HEAD .../records/{rid}/attachments/{name}`` and its thumbnails.

Who may read the record may download its files (:class:`RecordContext`: a hidden record is a
404, an anonymous caller of a private one a 401).  A file is streamed from storage with its
sniffed type, a strong ``ETag`` (its sha256), ``Last-Modified``, ``Range`` and preconditions
(:mod:`.ranges`) and a safe ``Content-Disposition`` (:mod:`.disposition`).  A served file may be
HTML or SVG: ``Content-Security-Policy: sandbox`` and ``nosniff`` keep its script off our
origin.  ``Cache-Control: private, no-cache``: who may read it can change at any time, so a
cache revalidates (a cheap 304) before each use.  ``benben.files.presigned_downloads`` (S3):
a ``307`` to the bucket after the permission check.

Thumbnails (``.../thumbnails/{size}``, with ``benben.files.thumbnails``, of PNG, JPEG, WebP and
GIF): served once made; until then the request queues their making and answers ``503`` with
``Retry-After: 2``; an image none can be made of is served as it is, as PocketBase does.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from pyramid.response import Response as HTTPResponse

from benben.plugin import (
    READ,
    Configurator,
    Parameter,
    RecordContext,
    Request,
    Response,
    Service,
    as_utc,
    enqueue_task,
    invalid_parameter,
    problem_response,
    record_member,
)

from .attachments import MEMBER
from .disposition import content_disposition, disposition_type
from .metrics import FilesMetrics, get_metrics
from .models import Attachment, Blob, Policy, Thumbnail
from .ranges import ByteRange, Outcome, decide, multipart_body
from .settings import get_settings
from .storage import get_storage
from .storage.base import StorageError
from .thumbnails import FAILED, TASK, allowed_sizes, is_image

__all__ = ["ATTACHMENT_PATH", "SERVICES", "attachment", "thumbnail"]

log = logging.getLogger(__name__)

TAGS = ["files"]
ATTACHMENT_PATH = "/api/v1/collections/{cid}/records/{rid}/attachments/{name}"
SANDBOX_CSP = "sandbox; default-src 'none'"
VALIDATION_TYPE = "urn:benben:problem:validation-error"
UNAVAILABLE_TYPE = "urn:benben:problem:file-unavailable"
THUMBNAIL_RETRY_SECONDS = 2

# One service per path (two routes of one pattern: the first would take every method).  Uploads
# add their PUT and DELETE to this one (``from .api_downloads import attachment`` in
# api_attachments, decorating at import time); :func:`includeme` registers it, after importing
# api_attachments so that its views are there whatever the order of the includes.
attachment = Service(
    name="files.attachment", path=ATTACHMENT_PATH, factory=RecordContext, tags=TAGS
)
thumbnail = Service(
    name="files.thumbnail",
    path=ATTACHMENT_PATH + "/thumbnails/{size}",
    factory=RecordContext,
    tags=TAGS,
)

PATH = [
    Parameter("cid", "path", description="The collection's id.", required=True),
    Parameter("rid", "path", description="The record's id.", required=True),
    Parameter("name", "path", description="The attachment's name.", required=True),
]
DOWNLOAD = Parameter(
    "download",
    "query",
    {"type": "string", "enum": ["1", "true", "0", "false"]},
    "`1`: `Content-Disposition: attachment` (save), whatever the type.",
)
FILE_HEADERS = {
    "ETag": '`"<sha256>"`, strong.',
    "Last-Modified": "When the attachment was written.",
    "Content-Disposition": "`inline` for images (not SVG), PDF, plain text, audio and video; "
    "`attachment` otherwise; the filename per RFC 6266.",
    "Accept-Ranges": "`bytes`.",
}
FILE_RESPONSES: dict[int, Any] = {
    200: Response("The file.", {}, FILE_HEADERS, media_type="application/octet-stream"),
    206: Response(
        "One range (`Content-Range`), or several as `multipart/byteranges`.",
        {},
        {"Content-Range": "The range sent."},
        media_type="application/octet-stream",
    ),
    304: "Not modified (`If-None-Match`, `If-Modified-Since`).",
    404: "No such record or attachment, or the caller may not read the record.",
    412: "`If-Match` or `If-Unmodified-Since` failed.",
    416: "No range satisfiable (`Content-Range: bytes */<size>`).",
    503: "Storage unavailable, or the stored file missing.",
}


@dataclass(frozen=True)
class StoredFile:
    """What is served: an object in storage and how to present it."""

    key: str
    size: int
    content_type: str
    etag: str
    last_modified: int  # epoch seconds
    filename: str
    disposition: str


@attachment.get(
    permission=READ,
    operation_id="downloadAttachment",
    summary="Download an attachment",
    description="Streamed, with `Range` (one or several ranges), `ETag`/`If-None-Match`, "
    "`If-Modified-Since`, `If-Range`. HEAD answers the same headers. With presigned downloads "
    "on (S3), a 307 to the bucket.",
    parameters=[*PATH, DOWNLOAD],
    responses={
        **FILE_RESPONSES,
        307: Response(
            "Presigned downloads: to the bucket.", None, {"Location": "A presigned URL."}
        ),
    },
)
def download_view(request: Request) -> HTTPResponse:
    download = _download_param(request)
    row = _attachment_row(request)
    if row is None:
        return _no_attachment(request)
    blob = request.dbsession.get(Blob, row.sha256)
    if blob is None:
        return _unavailable(request, f"no blob row {row.sha256} for attachment {row.name!r}")
    settings = get_settings(request.registry)
    if settings.presigned_downloads:
        redirect = _presigned(request, blob, row.name, settings.presigned_expiry)
        if redirect is not None:
            return redirect
    disposition = disposition_type(blob.content_type, download=download)
    return serve(request, _original(blob, row, disposition))


@thumbnail.get(
    permission=READ,
    operation_id="downloadAttachmentThumbnail",
    summary="A thumbnail of an image attachment",
    description="`size`: one of the collection's thumbnail sizes (`WxH` cropped to fill, "
    "`WxHf` fitted inside, `Wx0`/`0xH` keeping the ratio). Generated in the background: "
    f"until it is, 503 with `Retry-After: {THUMBNAIL_RETRY_SECONDS}`; an image whose thumbnail "
    "cannot be made is served as it is.",
    parameters=[
        *PATH,
        Parameter("size", "path", description="`100x100`, `200x0`, `300x300f`...", required=True),
    ],
    responses={
        **FILE_RESPONSES,
        400: "A size that is not one of the allowed sizes (listed in `allowed_sizes`).",
        404: "Thumbnails are off, the attachment is no image, or no such attachment.",
        503: "Being generated (`Retry-After`), or storage unavailable.",
    },
)
def thumbnail_view(request: Request) -> HTTPResponse:
    _download_param(request, accepted=())
    settings = get_settings(request.registry)
    row = _attachment_row(request)
    if row is None:
        return _no_attachment(request)
    blob = request.dbsession.get(Blob, row.sha256)
    if not settings.thumbnails or blob is None or not is_image(blob.content_type):
        return problem_response(
            request, 404, detail=f"The attachment {row.name!r} has no thumbnails."
        )
    size = request.matchdict["size"]
    allowed = allowed_sizes(request.registry, request.dbsession.get(Policy, row.collection_id))
    if size not in allowed:  # the allowed sizes are valid ones, spelt canonically
        message = f"must be one of {', '.join(allowed)}" if allowed else "no size is allowed"
        return problem_response(
            request,
            400,
            title="Invalid request",
            type=VALIDATION_TYPE,
            detail=f"size: {message}",
            errors=[{"location": "path", "name": "size", "message": message}],
            allowed_sizes=list(allowed),
        )
    made = request.dbsession.get(Thumbnail, (blob.sha256, size))
    if made is None:
        # Every size missing for this content is made at once; a second request meanwhile
        # queues a task that finds them made.
        enqueue_task(request, TASK, blob.sha256)
        return problem_response(
            request,
            503,
            title="Thumbnail not ready",
            detail="The thumbnail is being generated; try again shortly.",
            headers={"Retry-After": str(THUMBNAIL_RETRY_SECONDS), "Cache-Control": "no-store"},
        )
    if made.content_type == FAILED:  # the original image, rather than nothing
        return serve(request, _original(blob, row, "inline"))
    made_at = int(as_utc(made.created_at).timestamp())
    etag = f'"{blob.sha256}-{size}"'
    return serve(
        request,
        StoredFile(made.key, made.bytes, made.content_type, etag, made_at, row.name, "inline"),
    )


def _original(blob: Blob, row: Attachment, disposition: str) -> StoredFile:
    etag, modified = f'"{blob.sha256}"', row.last_modified // 1000
    return StoredFile(blob.key, blob.size, blob.content_type, etag, modified, row.name, disposition)


def serve(request: Request, stored: StoredFile) -> HTTPResponse:
    """``stored`` as the request's conditions and ``Range`` ask, streamed from storage."""
    headers = {
        "ETag": stored.etag,
        "Last-Modified": formatdate(stored.last_modified, usegmt=True),
        "Cache-Control": "private, no-cache",
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": SANDBOX_CSP,
    }
    decision = decide(
        request.method, request.headers,
        etag=stored.etag, last_modified=stored.last_modified, size=stored.size,
    )  # fmt: skip
    if decision.outcome is Outcome.PRECONDITION_FAILED:
        return problem_response(
            request, 412, detail=f"{decision.failed} failed.", headers={"ETag": stored.etag}
        )
    if decision.outcome is Outcome.NOT_MODIFIED:
        return HTTPResponse(status=304, headerlist=list(headers.items()))
    if decision.outcome is Outcome.UNSATISFIABLE:
        return problem_response(
            request,
            416,
            detail=f"No range of the Range header is within the file's {stored.size} bytes.",
            headers={**headers, "Content-Range": f"bytes */{stored.size}"},
        )
    headers["Content-Disposition"] = content_disposition(stored.disposition, stored.filename)
    content_type = _served_type(stored.content_type)
    ranges = decision.ranges
    status, length = 200, stored.size
    if len(ranges) == 1:
        status, length = 206, ranges[0].size
        headers["Content-Range"] = ranges[0].content_range()
    elif ranges:
        status = 206
    body: Any = []
    # HEAD: the headers GET would send (HEAD has no ranges); storage is not even opened.
    if request.method != "HEAD":
        storage = get_storage(request.registry)
        try:
            # Opened before the response starts: a missing object or a storage outage is a
            # 503, not a response cut short.  Several ranges: the first one's stream now.
            first = ranges[0] if ranges else ByteRange(0, stored.size, stored.size)
            chunks = storage.read(stored.key, first.start, first.stop)
        except FileNotFoundError:
            return _unavailable(request, f"object {stored.key!r} missing from storage")
        except StorageError as error:
            return _unavailable(request, str(error), missing=False)
        if len(ranges) > 1:
            pending = [chunks]

            def read(start: int, stop: int) -> Iterator[bytes]:
                return pending.pop() if pending else storage.read(stored.key, start, stop)

            content_type, length, chunks = multipart_body(ranges, content_type, read)
        body = CountedChunks(chunks, get_metrics(request.registry), stored.key)
    response = HTTPResponse(
        status=status,
        headerlist=[("Content-Type", content_type), *headers.items()],
        app_iter=body,
    )
    response.content_length = length
    return response


class CountedChunks:
    """A response's chunks, counted in the metrics as they are sent; ``close()`` (the end, or
    a client gone midway) closes the storage stream."""

    def __init__(self, chunks: Iterator[bytes], metrics: FilesMetrics, key: str) -> None:
        self._chunks = chunks
        self._metrics = metrics
        self._key = key
        self._sent = 0
        self._closed = False

    def __iter__(self) -> CountedChunks:
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self._chunks)
        except StopIteration:
            raise
        except Exception:
            # Headers are sent: all left to do is to cut the response short, and say why.
            log.exception("files: reading %s failed while it was being sent", self._key)
            self._metrics.failure("download")
            self.close()
            raise
        self._sent += len(chunk)
        return chunk

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # What was sent, a download cut short included (the metrics' unit is a download).
        self._metrics.download(self._sent)
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


def _served_type(content_type: str) -> str:
    # Text sniffed as plain is UTF-8 (the sniffer's test): say so, so that no browser guesses.
    if content_type == "text/plain":
        return "text/plain; charset=utf-8"
    return content_type


def _presigned(request: Request, blob: Blob, name: str, expiry: int) -> HTTPResponse | None:
    try:
        url = get_storage(request.registry).presigned_url(
            blob.key, filename=name, content_type=blob.content_type, expires_in=expiry
        )
    except StorageError as error:
        return _unavailable(request, str(error), missing=False)
    if url is None:  # the backend cannot presign (the local disk): stream it
        return None
    get_metrics(request.registry).download(0)  # its bytes go from the bucket, not through us
    return HTTPResponse(status=307, headerlist=[("Location", url), ("Cache-Control", "no-store")])


def _attachment_row(request: Request) -> Attachment | None:
    context: RecordContext = request.context
    # Names are stored NFC-normalised: a client sending the same name decomposed finds it.
    name = unicodedata.normalize("NFC", request.matchdict["name"])
    row = request.dbsession.get(Attachment, (context.collection.id, context.record.id, name))
    # The record's member says what it holds: a row left by an earlier record of the same id
    # (deleted, its clean-up not run yet) is never served as the new record's.
    shown = (record_member(context.record, MEMBER) or {}).get(name)
    if row is None or not isinstance(shown, dict) or shown.get("sha256") != row.sha256:
        return None
    return row


def _download_param(request: Request, accepted: tuple[str, ...] = ("download",)) -> bool:
    """``?download=1``; any other parameter is refused (a misspelt one must not be ignored)."""
    for key in request.GET:
        if key not in accepted:
            hint = f"; accepted: {', '.join(accepted)}" if accepted else ""
            raise invalid_parameter(key, "unknown parameter" + hint)
    values = request.GET.getall("download")
    if len(values) > 1:
        raise invalid_parameter("download", "must be given at most once")
    if values and values[0] not in ("1", "true", "0", "false"):
        raise invalid_parameter("download", "must be 1 (or true) or 0 (or false)")
    return bool(values) and values[0] in ("1", "true")


def _no_attachment(request: Request) -> HTTPResponse:
    return problem_response(
        request, 404, detail=f"The record has no attachment named {request.matchdict['name']!r}."
    )


def _unavailable(request: Request, reason: str, *, missing: bool = True) -> HTTPResponse:
    """503: a storage outage, or worse, a file the database has and storage has not."""
    if missing:
        log.error("files: stored file unavailable: %s", reason)
    else:
        log.warning("files: storage unavailable: %s", reason)
    get_metrics(request.registry).failure("download")
    return problem_response(
        request,
        503,
        type=UNAVAILABLE_TYPE,
        title="Stored file unavailable",
        detail="The file cannot be read from storage right now.",
    )


SERVICES = (attachment, thumbnail)


def includeme(config: Configurator) -> None:
    from . import api_attachments  # noqa: F401 - its PUT and DELETE of ``attachment``

    for service in SERVICES:
        config.add_cornice_service(service)
