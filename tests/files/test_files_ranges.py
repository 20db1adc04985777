"""Range requests: the parsing and decisions of benben_files.ranges, then through the API (206,
multipart/byteranges, 416, If-Range, HEAD)."""

from __future__ import annotations

import email
import email.policy

import pytest
import webtest
from downloads_support import People, Stored, attach, create_record, people, random_bytes

from benben_files.ranges import (
    MAX_RANGES,
    ByteRange,
    Outcome,
    decide,
    entity_tags,
    http_date,
    multipart_body,
    parse_range,
)

TAG = '"abc"'
SECOND = 1_700_000_000
DATE = "Tue, 14 Nov 2023 22:13:20 GMT"  # SECOND


def spans(header: str, size: int = 1000) -> list[tuple[int, int]] | None:
    ranges = parse_range(header, size)
    return None if ranges is None else [(r.start, r.stop) for r in ranges]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", [(0, 100)]),
        ("bytes=100-199", [(100, 200)]),
        ("bytes=-500", [(500, 1000)]),
        ("bytes=-5000", [(0, 1000)]),  # a suffix longer than the file: all of it
        ("bytes=900-", [(900, 1000)]),
        ("bytes=900-5000", [(900, 1000)]),  # clamped
        ("bytes=999-999", [(999, 1000)]),
        ("BYTES = 0-0", [(0, 1)]),
        ("bytes=0-9, 20-29", [(0, 10), (20, 30)]),
        ("bytes=20-29,0-9", [(0, 10), (20, 30)]),  # sorted
        ("bytes=0-9,5-19,20-29", [(0, 30)]),  # overlapping and adjacent: merged
        ("bytes=0-9,2000-3000", [(0, 10)]),  # the unsatisfiable one left out
        ("bytes=1000-", []),  # none satisfiable: 416
        ("bytes=5000-6000", []),
        ("bytes=-0", []),
    ],
)
def test_parse_range(header: str, expected: list[tuple[int, int]]) -> None:
    assert spans(header) == expected


@pytest.mark.parametrize(
    "header",
    ["bytes=", "bytes=-", "bytes=a-b", "bytes=10-5", "items=0-1", "bytes 0-1", "bytes=0-1;x",
     "bytes=1-2-3", "bytes=0x1-2", "bytes=+1-2"],
)  # fmt: skip
def test_malformed_ranges_are_ignored(header: str) -> None:
    assert spans(header) is None


def test_too_many_ranges_are_ignored() -> None:
    many = ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(MAX_RANGES + 1))
    assert spans(f"bytes={many}") is None
    merged = ",".join(f"{i}-{i}" for i in range(100))  # adjacent: one range
    assert spans(f"bytes={merged}") == [(0, 100)]


def test_an_empty_file_satisfies_no_range() -> None:
    assert spans("bytes=0-", 0) == []
    assert spans("bytes=-10", 0) == []


def test_entity_tags_and_dates() -> None:
    assert entity_tags('"a", W/"b" ,"c,d", bad, *') == {'"a"', 'W/"b"', '"c,d"', "*"}
    assert entity_tags("nothing") == frozenset()
    assert http_date(DATE) == SECOND
    assert http_date("Tuesday, 14-Nov-23 22:13:20 GMT") == SECOND  # RFC 850
    assert http_date("Tue Nov 14 22:13:20 2023") == SECOND  # asctime
    assert http_date("yesterday") is None
    assert http_date(None) is None


def decision(method: str = "GET", size: int = 1000, **headers: str) -> tuple[Outcome, list]:
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    result = decide(method, named, etag=TAG, last_modified=SECOND, size=size)
    return result.outcome, [(r.start, r.stop) for r in result.ranges]


def test_decide_in_rfc_9110_order() -> None:
    assert decision() == (Outcome.FULL, [])
    assert decision(Range="bytes=0-1") == (Outcome.PARTIAL, [(0, 2)])
    assert decision(Range="bytes=5000-") == (Outcome.UNSATISFIABLE, [])
    # If-Match before everything, strong: a weak tag never matches.
    assert decision(If_Match='W/"abc"', Range="bytes=0-1")[0] is Outcome.PRECONDITION_FAILED
    assert decision(If_Match=f'{TAG}, "x"', Range="bytes=0-1")[0] is Outcome.PARTIAL
    assert decision(If_Match="*")[0] is Outcome.FULL
    assert decision(If_Unmodified_Since="Mon, 13 Nov 2023 00:00:00 GMT")[0] is (
        Outcome.PRECONDITION_FAILED
    )
    # If-None-Match before Range, weak comparison.
    assert decision(If_None_Match='W/"abc"', Range="bytes=0-1")[0] is Outcome.NOT_MODIFIED
    assert decision(If_Modified_Since=DATE)[0] is Outcome.NOT_MODIFIED
    # HEAD ignores Range (RFC 9110 section 14.2), not the validators.
    assert decision("HEAD", Range="bytes=0-1") == (Outcome.FULL, [])
    assert decision("HEAD", If_None_Match=TAG)[0] is Outcome.NOT_MODIFIED


@pytest.mark.parametrize(
    ("if_range", "outcome"),
    [
        (TAG, Outcome.PARTIAL),
        ('W/"abc"', Outcome.FULL),  # If-Range compares strongly
        ('"other"', Outcome.FULL),
        (DATE, Outcome.PARTIAL),  # the same date exactly
        ("Tue, 14 Nov 2023 22:13:21 GMT", Outcome.FULL),
        ("not a date", Outcome.FULL),
    ],
)
def test_if_range_decision(if_range: str, outcome: Outcome) -> None:
    assert decision(Range="bytes=0-1", If_Range=if_range)[0] is outcome


def test_multipart_body_frames_each_range() -> None:
    data = bytes(range(256)) * 4
    ranges = (ByteRange(0, 10, len(data)), ByteRange(500, 520, len(data)))
    reads: list[tuple[int, int]] = []

    def read(start: int, stop: int):  # type: ignore[no-untyped-def]
        reads.append((start, stop))
        return iter([data[start:stop]])

    content_type, length, chunks = multipart_body(ranges, "image/png", read)
    assert reads == []  # nothing read before the body is
    body = b"".join(chunks)
    assert len(body) == length
    assert reads == [(0, 10), (500, 520)]
    parts = parse_multipart(content_type, body)
    assert parts == [
        ("image/png", "bytes 0-9/1024", data[0:10]),
        ("image/png", "bytes 500-519/1024", data[500:520]),
    ]


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str, bytes]]:
    """The parts of a multipart/byteranges body, by the standard library's MIME parser."""
    message = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=email.policy.HTTP
    )
    assert message.is_multipart()
    assert not message.defects
    return [
        (part["Content-Type"], part["Content-Range"], part.get_payload(decode=True))
        for part in message.iter_parts()
    ]


# -- through the API --------------------------------------------------------------------------


@pytest.fixture
def who(app: webtest.TestApp) -> People:
    who = people(app)
    create_record(app, who.alice)
    return who


@pytest.fixture
def stored(app: webtest.TestApp, who: People) -> Stored:
    return attach(app.app.registry, random_bytes(10_000), name="r.bin", last_modified=SECOND * 1000)


def ranged(app: webtest.TestApp, who: People, stored: Stored, status: int, **headers: str):  # type: ignore[no-untyped-def]
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    return app.get(stored.url(), headers={**who.alice, **named}, status=status)


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=0-99", 0, 100),  # the first bytes
        ("bytes=4000-4999", 4000, 5000),  # the middle
        ("bytes=-500", 9500, 10_000),  # a suffix
        ("bytes=9000-", 9000, 10_000),  # open-ended
        ("bytes=9990-20000", 9990, 10_000),  # past the end: clamped
    ],
)
def test_one_range(
    app: webtest.TestApp, who: People, stored: Stored, header: str, start: int, stop: int
) -> None:
    response = ranged(app, who, stored, 206, Range=header)
    assert response.body == stored.data[start:stop]
    assert response.headers["Content-Range"] == f"bytes {start}-{stop - 1}/10000"
    assert response.headers["Content-Length"] == str(stop - start)
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["ETag"] == f'"{stored.sha256}"'
    assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_unsatisfiable_range_is_a_416_problem(
    app: webtest.TestApp, who: People, stored: Stored
) -> None:
    response = ranged(app, who, stored, 416, Range="bytes=10000-")
    assert response.headers["Content-Range"] == "bytes */10000"
    assert response.content_type == "application/problem+json"
    assert response.json["status"] == 416


def test_several_ranges_are_multipart(app: webtest.TestApp, who: People, stored: Stored) -> None:
    response = ranged(app, who, stored, 206, Range="bytes=0-9, 100-199, -10")
    assert response.content_type == "multipart/byteranges"
    assert "Content-Range" not in response.headers
    assert response.headers["Content-Length"] == str(len(response.body))
    parts = parse_multipart(response.headers["Content-Type"], response.body)
    assert parts == [
        ("application/octet-stream", "bytes 0-9/10000", stored.data[:10]),
        ("application/octet-stream", "bytes 100-199/10000", stored.data[100:200]),
        ("application/octet-stream", "bytes 9990-9999/10000", stored.data[9990:]),
    ]
    # Overlapping ranges are merged: one range left, no multipart.
    merged = ranged(app, who, stored, 206, Range="bytes=0-9,5-19")
    assert merged.headers["Content-Range"] == "bytes 0-19/10000"


def test_if_range_through_the_api(app: webtest.TestApp, who: People, stored: Stored) -> None:
    same = ranged(app, who, stored, 206, Range="bytes=0-9", If_Range=f'"{stored.sha256}"')
    assert same.body == stored.data[:10]
    dated = ranged(app, who, stored, 206, Range="bytes=0-9", If_Range=DATE)
    assert dated.body == stored.data[:10]
    # The client's part is of another version: the whole file, 200.
    changed = ranged(app, who, stored, 200, Range="bytes=0-9", If_Range='"an-older-one"')
    assert changed.body == stored.data
    assert "Content-Range" not in changed.headers
    later = ranged(app, who, stored, 200, Range="bytes=0-9", If_Range="Wed, 15 Nov 2023 0:0:0 GMT")
    assert later.body == stored.data


def test_ignored_ranges_answer_the_whole_file(
    app: webtest.TestApp, who: People, stored: Stored
) -> None:
    for header in ("bytes=abc", "lines=0-1", "bytes=5-1"):
        assert ranged(app, who, stored, 200, Range=header).body == stored.data
    many = ",".join(f"{i * 100}-{i * 100 + 1}" for i in range(MAX_RANGES + 1))
    assert ranged(app, who, stored, 200, Range=f"bytes={many}").body == stored.data


def test_head_ignores_range(app: webtest.TestApp, who: People, stored: Stored) -> None:
    response = app.head(stored.url(), headers={**who.alice, "Range": "bytes=0-9"}, status=200)
    assert response.body == b""
    assert response.headers["Content-Length"] == "10000"
    assert response.headers["Accept-Ranges"] == "bytes"


def test_a_matching_if_none_match_wins_over_range(
    app: webtest.TestApp, who: People, stored: Stored
) -> None:
    response = ranged(app, who, stored, 304, Range="bytes=0-9", If_None_Match=f'"{stored.sha256}"')
    assert response.body == b""


def test_an_empty_file(app: webtest.TestApp, who: People) -> None:
    empty = attach(app.app.registry, b"", name="empty.txt", content_type="text/plain")
    whole = app.get(empty.url(), headers=who.alice, status=200)
    assert whole.body == b""
    assert whole.headers["Content-Length"] == "0"
    refused = app.get(empty.url(), headers={**who.alice, "Range": "bytes=0-"}, status=416)
    assert refused.headers["Content-Range"] == "bytes */0"
