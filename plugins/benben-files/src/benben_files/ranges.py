"""Conditional and range requests on a stored file (RFC 9110 sections 13 and 14).

:func:`decide` reads a GET or HEAD's preconditions and ``Range`` against the file's strong
``ETag`` and ``Last-Modified``, in the order RFC 9110 section 13.2.2 gives, and tells the view
what to answer: 412, 304, the whole file, one range (206), several (206
``multipart/byteranges``: :func:`multipart_body`), or 416.

WebOb's ``conditional_response`` does part of this, but decides after the view, so that the
tweens (access log, metrics) see a 200 for what leaves as a 304 or a 206; it answers several
ranges with the whole file, a 416 in plain text rather than a problem, and 206 to HEAD, which
RFC 9110 section 14.2 says ignores ``Range``.

Ranges: ``bytes=0-99``, ``bytes=100-`` (to the end), ``bytes=-500`` (the last 500), a list of
them.  A last byte past the end is clamped; ranges are sorted and overlapping or adjacent ones
merged; a header with a syntax error, another unit or more than :data:`MAX_RANGES` ranges once
merged is ignored (the whole file: RFC 9110 allows it, and many tiny ranges are a cheap way to
make a server work hard); none satisfiable is a 416.
"""

from __future__ import annotations

import datetime
import email.utils
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "MAX_RANGES",
    "ByteRange",
    "Decision",
    "Outcome",
    "decide",
    "entity_tags",
    "http_date",
    "multipart_body",
    "parse_range",
]

MAX_RANGES = 16
_RANGE_SPEC = re.compile(r"(\d*)-(\d*)")
# RFC 9110 entity-tag: optional W/, then a quoted string of etagc (no quote, no space).
_ENTITY_TAG = re.compile(r'\s*(\*|(?:W/)?"[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


class Outcome(Enum):
    FULL = 200
    PARTIAL = 206
    NOT_MODIFIED = 304
    PRECONDITION_FAILED = 412
    UNSATISFIABLE = 416


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``stop`` (exclusive) of a file of ``length`` bytes."""

    start: int
    stop: int
    length: int

    @property
    def size(self) -> int:
        return self.stop - self.start

    def content_range(self) -> str:
        return f"bytes {self.start}-{self.stop - 1}/{self.length}"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    ranges: tuple[ByteRange, ...] = ()
    # The precondition that failed (412): its header's name.
    failed: str = ""


def decide(
    method: str, headers: Mapping[str, str], *, etag: str, last_modified: int, size: int
) -> Decision:
    """What to answer a GET or HEAD of a file whose strong ``etag``, ``last_modified`` (epoch
    seconds) and ``size`` are given."""
    if_match = headers.get("If-Match")
    if if_match is not None:
        tags = entity_tags(if_match)
        if "*" not in tags and etag not in tags:  # strong comparison: a W/ tag never matches
            return Decision(Outcome.PRECONDITION_FAILED, failed="If-Match")
    else:
        unmodified_since = http_date(headers.get("If-Unmodified-Since"))
        if unmodified_since is not None and last_modified > unmodified_since:
            return Decision(Outcome.PRECONDITION_FAILED, failed="If-Unmodified-Since")
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = entity_tags(if_none_match)
        if "*" in tags or etag in {tag.removeprefix("W/") for tag in tags}:  # weak comparison
            return Decision(Outcome.NOT_MODIFIED)
    else:
        modified_since = http_date(headers.get("If-Modified-Since"))
        if modified_since is not None and last_modified <= modified_since:
            return Decision(Outcome.NOT_MODIFIED)
    range_header = headers.get("Range")
    if method != "GET" or range_header is None:
        return Decision(Outcome.FULL)
    if_range = headers.get("If-Range")
    if if_range is not None and not _if_range_holds(if_range, etag, last_modified):
        return Decision(Outcome.FULL)  # the client's part is of another version: all of it
    ranges = parse_range(range_header, size)
    if ranges is None:
        return Decision(Outcome.FULL)
    if not ranges:
        return Decision(Outcome.UNSATISFIABLE)
    return Decision(Outcome.PARTIAL, ranges)


def parse_range(header: str, size: int) -> tuple[ByteRange, ...] | None:
    """The satisfiable ranges of a ``Range`` header, sorted and merged (empty: none is, 416);
    None when the header is to be ignored (syntax, unit, too many ranges)."""
    unit, equals, specs = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    wanted: list[tuple[int, int]] = []
    for spec in specs.split(","):
        match = _RANGE_SPEC.fullmatch(spec.strip())
        if match is None:
            return None
        first, last = match.groups()
        if first:
            start = int(first)
            if last and int(last) < start:
                return None
            stop = min(int(last) + 1, size) if last else size
        elif last:  # a suffix: the last N bytes
            start, stop = max(size - int(last), 0), size if int(last) else 0
        else:
            return None  # "-" alone
        if start < stop:  # satisfiable
            wanted.append((start, stop))
    merged: list[list[int]] = []
    for start, stop in sorted(wanted):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    if len(merged) > MAX_RANGES:
        return None
    return tuple(ByteRange(start, stop, size) for start, stop in merged)


def entity_tags(header: str) -> frozenset[str]:
    """The entity tags of an ``If-Match``/``If-None-Match`` list (``*`` kept as is); what is not
    an entity tag is skipped."""
    return frozenset(match.group(1) for match in _ENTITY_TAG.finditer(header))


def http_date(value: str | None) -> int | None:
    """An HTTP date as epoch seconds; None when absent or not a date."""
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000": no zone given; HTTP dates are in GMT anyway
        return int(moment.replace(tzinfo=datetime.UTC).timestamp())
    return int(moment.timestamp())


def _if_range_holds(value: str, etag: str, last_modified: int) -> bool:
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == etag  # strong comparison
    return http_date(value) == last_modified  # an exact match of the date


Reader = Callable[[int, int], Iterator[bytes]]


def multipart_body(
    ranges: tuple[ByteRange, ...], content_type: str, read: Reader
) -> tuple[str, int, Iterator[bytes]]:
    """A ``multipart/byteranges`` body of ``ranges``, each read with ``read(start, stop)`` only
    when it is reached: its ``Content-Type``, its length, its chunks."""
    boundary = secrets.token_hex(16)
    heads = [
        (
            f"--{boundary}\r\nContent-Type: {content_type}\r\n"
            f"Content-Range: {byte_range.content_range()}\r\n\r\n"
        ).encode("latin-1")
        for byte_range in ranges
    ]
    tail = f"\r\n--{boundary}--\r\n".encode("latin-1")
    parts = list(zip(heads, ranges, strict=True))
    length = sum(len(head) + byte_range.size for head, byte_range in parts)
    # Each part after the first begins on a new line: CRLF before its boundary.
    length += 2 * (len(ranges) - 1) + len(tail)

    def chunks() -> Iterator[bytes]:
        for index, (head, byte_range) in enumerate(parts):
            yield (b"\r\n" + head) if index else head
            part = read(byte_range.start, byte_range.stop)
            try:
                yield from part
            finally:
                close = getattr(part, "close", None)
                if close is not None:
                    close()
        yield tail

    return f"multipart/byteranges; boundary={boundary}", length, chunks()
