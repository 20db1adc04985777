"""Receiving an upload: the request's body streamed once to storage, never held in memory.

A body is either ``multipart/form-data`` (one part named ``file``, optionally preceded by a
``name`` field) parsed by ``multipart``'s push parser, or the file itself (raw), its type in
``Content-Type``.  Either way the file's bytes go through :class:`_Inspector` on their way to
:meth:`BlobStorage.write`: it hashes (sha256) and counts them, sniffs the type from the first
bytes and checks it against the policy's allowed types as soon as it knows it, and refuses a
file growing past ``max_file_size`` or the quota left.  A refusal is raised from the chunks'
generator, so the storage's write aborts and leaves nothing; limits that ``Content-Length``
already breaks are refused before anything is read.

pyramid_retry may replay the request after the body was consumed (a record write that lost a
race, see ``set_record_member``): the first attempt keeps what it stored in the WSGI environ
(:data:`UPLOAD_KEY`), which survives the replay, and a replay reuses it instead of reading the
body again.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import multipart

from benben.plugin import Request

from .names import InvalidName, check_name, sanitize_filename
from .policy import EffectivePolicy, Refused, param_error
from .sniffing import OCTET_STREAM, SNIFF_BYTES, contradicts, normalize_type, sniff, type_allowed
from .storage import StorageError, get_storage, new_key

__all__ = ["CHUNK_SIZE", "MULTIPART_SLACK", "UPLOAD_KEY", "Upload", "receive_upload"]

CHUNK_SIZE = 128 * 1024
# A multipart body's bytes beyond the file: boundaries, part headers, the `name` field.
MULTIPART_SLACK = 64 * 1024
MAX_NAME_FIELD = 1024
UPLOAD_KEY = "benben_files.upload"
TOO_LARGE_TYPE = "urn:benben:problem:too-large"
UNSUPPORTED_TYPE = "urn:benben:problem:unsupported-media-type"


@dataclass(frozen=True)
class Upload:
    """What was stored: the object ``key`` and its facts."""

    key: str
    name: str
    sha256: str
    size: int
    content_type: str  # sniffed: what it is checked against and served as
    declared_type: str  # the client's word, kept for the record of a refusal only


@dataclass
class _Receiving:
    """What is learnt of the file while its body is parsed."""

    name: str | None
    declared: str = ""
    file_seen: bool = False


def too_large(limit: int, *, quota: bool) -> Refused:
    if quota:
        return Refused(
            413,
            f"The collection's attachments may hold {limit} bytes; this file does not fit in "
            "what is left.",
            outcome="refused_quota",
            type=TOO_LARGE_TYPE,
            quota_bytes=limit,
        )
    return Refused(
        413,
        f"An attachment may have at most {limit} bytes here.",
        outcome="refused_size",
        type=TOO_LARGE_TYPE,
        max_file_size=limit,
    )


class _Inspector:
    """The file's bytes on their way to storage: counted, hashed, sniffed, checked."""

    def __init__(
        self, state: _Receiving, policy: EffectivePolicy, quota: int, remaining: int | None
    ) -> None:
        self.state = state
        self.policy = policy
        self.quota = quota
        self.remaining = remaining
        self.size = 0
        self.digest = hashlib.sha256()
        self.content_type = OCTET_STREAM

    def _count(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.policy.max_file_size:
            raise too_large(self.policy.max_file_size, quota=False)
        if self.remaining is not None and self.size > self.remaining:
            raise too_large(self.quota, quota=True)
        self.digest.update(chunk)

    def _judge(self, head: bytes, complete: bool) -> None:
        declared = self.state.declared
        sniffed = sniff(head[:SNIFF_BYTES], declared, complete=complete)
        self.content_type = sniffed.content_type
        facts = {"content_type": sniffed.content_type, "declared_type": declared or None}
        if not type_allowed(sniffed.content_type, self.policy.allowed_types):
            raise Refused(
                415,
                f"Attachments here may be {', '.join(self.policy.allowed_types)}; this content "
                f"is {sniffed.content_type}.",
                outcome="refused_type",
                type=UNSUPPORTED_TYPE,
                allowed_types=list(self.policy.allowed_types),
                **facts,
            )
        if contradicts(declared, sniffed):
            raise Refused(
                415,
                f"The content is {sniffed.content_type}, not the {declared} it was sent as.",
                outcome="refused_type",
                type=UNSUPPORTED_TYPE,
                **facts,
            )

    def chunks(self, source: Iterator[bytes]) -> Iterator[bytes]:
        head = b""
        for chunk in source:
            self._count(chunk)
            if len(head) < SNIFF_BYTES:
                head += chunk
                if len(head) < SNIFF_BYTES:
                    continue
                self._judge(head, complete=False)
                chunk, head = head, head[:SNIFF_BYTES]
            yield chunk
        if len(head) < SNIFF_BYTES:  # the whole file was shorter than the sniffed head
            self._judge(head, complete=True)
            if head:
                yield head


def _body_chunks(request: Request, limit: int) -> Iterator[bytes]:
    """The request's body in chunks: ``Content-Length`` bytes, or up to the end of a chunked
    one; more than ``limit`` bytes is a 413, a body ending early a 400."""
    stream = request.body_file
    expected = request.content_length
    received = 0
    while expected is None or received < expected:
        want = CHUNK_SIZE if expected is None else min(CHUNK_SIZE, expected - received)
        try:
            chunk = stream.read(want)
        except OSError:  # webob's DisconnectionError, the server's own
            chunk = b""
        if not chunk:
            if expected is not None:
                raise Refused(400, "The request's body ended before its Content-Length.")
            return
        received += len(chunk)
        if received > limit:
            raise too_large(limit, quota=False)
        yield chunk


_PARAMETER = re.compile(r';\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')


def _disposition_filename(header: str) -> str | None:
    """The filename of a ``Content-Disposition`` header (RFC 6266): ``filename*`` (RFC 8187,
    ``UTF-8''...``) first, else ``filename``."""
    options = {}
    for key, value in _PARAMETER.findall(header):
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        options.setdefault(key.lower(), value)
    extended = options.get("filename*")
    if extended:
        charset, _, rest = extended.partition("'")
        _, _, encoded = rest.partition("'")
        if charset.lower() != "utf-8" or not encoded:
            raise Refused(
                400,
                "Content-Disposition: filename* must be UTF-8''<percent-encoded name>.",
                [param_error("Content-Disposition", "filename* must be UTF-8", "header")],
            )
        return unquote(encoded, errors="strict")
    return options.get("filename") or None


def _checked(name: str | bytes, parameter: str, location: str) -> str:
    try:
        return check_name(name.decode("utf-8") if isinstance(name, bytes) else name)
    except InvalidName as exc:
        raise Refused(
            400, f"{parameter}: {exc}", [param_error(parameter, str(exc), location)]
        ) from None
    except UnicodeDecodeError:
        message = "is not UTF-8"
        raise Refused(
            400, f"{parameter}: {message}", [param_error(parameter, message, location)]
        ) from None


def _raw_name(request: Request, state: _Receiving) -> None:
    """A raw body's name: the URL's (PUT), ``?name=``, or its Content-Disposition."""
    if state.name is not None:
        return
    if "name" in request.GET:
        state.name = _checked(request.GET["name"], "name", "querystring")
        return
    header = request.headers.get("Content-Disposition")
    if header:
        try:
            filename = _disposition_filename(header)
        except UnicodeDecodeError:
            filename = None
        if filename:
            state.name = _checked(filename, "Content-Disposition", "header")
            return
    raise Refused(
        400,
        "The attachment needs a name: ?name=, or a Content-Disposition header with a filename.",
        [param_error("name", "is required")],
    )


def _multipart_chunks(
    request: Request,
    boundary: str,
    state: _Receiving,
    limit: int,
    on_file: Callable[[_Receiving], None],
) -> Iterator[bytes]:
    """The bytes of the ``file`` part of a multipart body; ``on_file`` runs once its name and
    type are known, before any of its bytes is yielded."""
    field: bytearray | None = None
    in_file = False
    try:
        parser = multipart.PushMultipartParser(boundary, max_segment_count=8, strict=True)
        for chunk in itertools.chain(_body_chunks(request, limit), (b"",)):
            for event in parser.parse(chunk):
                if isinstance(event, multipart.MultipartSegment):
                    in_file, field = _segment_started(event, state, on_file)
                elif event is None:
                    if field is not None and state.name is None:
                        state.name = _checked(bytes(field), "name", "form")
                    in_file, field = False, None
                elif in_file:
                    yield event
                elif field is not None:
                    field += event
                    if len(field) > MAX_NAME_FIELD:
                        raise _form_error("name", f"must be at most {MAX_NAME_FIELD} bytes")
    except multipart.MultipartError as exc:
        raise Refused(400, f"The multipart body is malformed: {exc}.") from None
    if not state.file_seen:
        raise _form_error("file", "is required: the part holding the file")


def _segment_started(
    segment: multipart.MultipartSegment,
    state: _Receiving,
    on_file: Callable[[_Receiving], None],
) -> tuple[bool, bytearray | None]:
    if segment.name == "name" and segment.filename is None:
        if state.file_seen:
            raise _form_error("name", "must come before the file part")
        return False, bytearray()
    if segment.name != "file":
        raise _form_error(segment.name or "", "unknown form field; accepted: name, file")
    if state.file_seen:
        raise _form_error("file", "must be given once")
    state.file_seen = True
    state.declared = normalize_type(segment.content_type)
    if state.name is None:
        if not segment.filename:
            raise _form_error("name", "is required: a name field or the file part's filename")
        try:
            state.name = sanitize_filename(segment.filename)
        except InvalidName as exc:
            raise _form_error("file", f"filename {exc}") from None
    on_file(state)
    return True, None


def _form_error(name: str, message: str) -> Refused:
    return Refused(400, f"{name}: {message}", [param_error(name, message, "form")])


def receive_upload(
    request: Request,
    policy: EffectivePolicy,
    *,
    name: str | None,
    remaining: int | None,
    on_name: Callable[[str], None],
) -> Upload:
    """Stream the request's file to storage, checked against ``policy`` (``remaining``: the
    bytes the quota leaves, None: no quota) and named ``name`` (a PUT's) or by the request;
    ``on_name(name)`` may refuse the name before anything is stored.  A replay returns what
    its first attempt stored."""
    replayed: Upload | None = request.environ.get(UPLOAD_KEY)
    if replayed is not None:
        return replayed
    state = _Receiving(name=name)
    media = normalize_type(request.content_type)
    slack = MULTIPART_SLACK if media == "multipart/form-data" else 0
    length = request.content_length
    if length is not None and length - slack > policy.max_file_size:
        raise too_large(policy.max_file_size, quota=False)
    if length is not None and remaining is not None and length - slack > remaining:
        raise too_large(policy.quota_bytes, quota=True)
    limit = policy.max_file_size + slack
    if media == "multipart/form-data":
        boundary = _boundary(request)

        def named(receiving: _Receiving) -> None:
            assert receiving.name is not None
            on_name(receiving.name)

        source = _multipart_chunks(request, boundary, state, limit, named)
    else:
        _raw_name(request, state)
        state.declared = media
        assert state.name is not None
        on_name(state.name)
        source = _body_chunks(request, limit)
    inspector = _Inspector(state, policy, policy.quota_bytes, remaining)
    key = new_key("blobs")
    try:
        get_storage(request.registry).write(
            key, inspector.chunks(source), content_type=OCTET_STREAM
        )
    except StorageError as exc:
        raise Refused(
            503, f"The file storage is unavailable: {exc}", outcome="failed", headers=_RETRY
        ) from exc
    assert state.name is not None
    upload = Upload(
        key=key,
        name=state.name,
        sha256=inspector.digest.hexdigest(),
        size=inspector.size,
        content_type=inspector.content_type,
        declared_type=state.declared,
    )
    request.environ[UPLOAD_KEY] = upload
    return upload


_RETRY = {"Retry-After": "30"}


def _boundary(request: Request) -> str:
    _, options = multipart.parse_options_header(request.headers.get("Content-Type", ""))
    boundary: Any = options.get("boundary")
    if not boundary:
        raise Refused(
            400,
            "Content-Type: multipart/form-data needs a boundary.",
            [param_error("Content-Type", "has no boundary", "header")],
        )
    return str(boundary)
