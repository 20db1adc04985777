"""Helpers of the download tests: people, records, and attachments written straight into storage
and the database (as an upload leaves them), so that downloads are tested on their own."""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Any

import files_support

from benben.testing import committed_session

ANONYMOUS: dict[str, str] = {}


# The people and records of the files tests: files_support's.
People, people, create_record = (
    files_support.People,
    files_support.people,
    files_support.create_record,
)


# A session committed on exit: benben.testing's.
session_of = committed_session


@dataclass(frozen=True)
class Stored:
    """An attachment as :func:`attach` stored it."""

    name: str
    data: bytes
    sha256: str
    key: str
    content_type: str
    last_modified: int  # epoch milliseconds

    def url(self, cid: str = "books", rid: str = "dune") -> str:
        from urllib.parse import quote

        return f"/api/v1/collections/{cid}/records/{rid}/attachments/{quote(self.name, safe='')}"


def attach(
    registry: Any,
    data: bytes,
    *,
    name: str = "file.bin",
    content_type: str = "application/octet-stream",
    cid: str = "books",
    rid: str = "dune",
    last_modified: int | None = None,
) -> Stored:
    """An attachment of the record ``cid``/``rid``: its object written to the app's storage,
    its Blob and Attachment rows inserted (the blob shared when the content is already
    stored)."""
    from benben_files.models import Attachment, Blob
    from benben_files.storage import get_storage, new_key

    sha256 = hashlib.sha256(data).hexdigest()
    modified = last_modified if last_modified is not None else int(time.time() * 1000)
    with session_of(registry) as session:
        blob = session.get(Blob, sha256)
        if blob is None:
            key = new_key("blobs")
            get_storage(registry).write(key, [data], content_type=content_type)
            session.add(Blob(sha256=sha256, key=key, size=len(data), content_type=content_type))
        else:
            key = blob.key
        session.add(
            Attachment(
                collection_id=cid,
                record_id=rid,
                name=name,
                sha256=sha256,
                size=len(data),
                content_type=content_type,
                last_modified=modified,
            )
        )
        _show_in_record(session, cid, rid, name, sha256, len(data), content_type, modified)
    _forget_cached_reads(registry)
    return Stored(name, data, sha256, key, content_type, modified)


def _show_in_record(
    session: Any, cid: str, rid: str, name: str, sha256: str, size: int, kind: str, modified: int
) -> None:
    """The record's ``attachments`` member names it, as an upload would have written it
    (downloads serve only what the record's member lists)."""
    from sqlalchemy import select, update

    from benben.data.models import Record

    where = (Record.collection_id == cid, Record.id == rid)
    members = dict(session.execute(select(Record.members).where(*where)).scalar_one() or {})
    attachments = dict(members.get("attachments") or {})
    attachments[name] = {
        "name": name,
        "size": size,
        "content_type": kind,
        "sha256": sha256,
        "last_modified": modified,
    }
    members["attachments"] = attachments
    session.execute(update(Record).where(*where).values(members=members))


def _forget_cached_reads(registry: Any) -> None:
    """Written behind the data API's back: its in-process read cache must not answer from
    before."""
    from benben.data.readcache import NEAR_CACHE_KEY

    near = registry.get(NEAR_CACHE_KEY)
    if near is not None:
        near.clear()


def random_bytes(size: int) -> bytes:
    """``size`` bytes that are not all alike (ranges and offsets show)."""
    seed = uuid.uuid4().bytes
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def metric(registry: Any, name: str, **labels: str) -> float:
    """A sample of the app's Prometheus registry (0 when absent)."""
    from benben.plugin import metrics_registry

    value = metrics_registry(registry).get_sample_value(name, labels or None)
    return float(value or 0)


class TrackedStorage:
    """The app's storage, its read streams watched (closed or not)."""

    def __init__(self, storage: Any) -> None:
        self._storage = storage
        self.streams: list[TrackedStream] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    def read(self, key: str, start: int = 0, end: int | None = None) -> Any:
        stream = TrackedStream(self._storage.read(key, start, end))
        self.streams.append(stream)
        return stream


class TrackedStream:
    def __init__(self, chunks: Any) -> None:
        self._chunks = chunks
        self.closed = False

    def __iter__(self) -> TrackedStream:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        self.closed = True
        self._chunks.close()


class FailingStorage(TrackedStorage):
    """Storage whose reads fail: at once (``at_open``), or after the first chunk."""

    def __init__(self, storage: Any, *, at_open: bool) -> None:
        super().__init__(storage)
        self.at_open = at_open

    def read(self, key: str, start: int = 0, end: int | None = None) -> Any:
        from benben_files.storage import StorageError

        if self.at_open:
            raise StorageError("the bucket is unreachable")
        stream = super().read(key, start, end)

        def broken() -> Any:
            yield next(stream)
            raise StorageError("the connection broke")

        tracked = TrackedStream(broken())
        tracked.close = stream.close  # type: ignore[method-assign]
        return tracked


def environ_of(url: str, headers: dict[str, str]) -> dict[str, Any]:
    from webob import Request

    return Request.blank(url, headers=headers).environ
