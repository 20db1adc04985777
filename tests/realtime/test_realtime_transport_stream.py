"""Stream and SSE frames without a server: frames' format, a stream's bound, its close and its
callbacks, and iteration (the fallback transport)."""

from __future__ import annotations

import threading
import time

import pytest

from benben.realtime.sse import END_EVENT, PING, end_frame, frame
from benben.realtime.stream import Stream


def test_a_frame_has_its_fields_then_a_blank_line() -> None:
    assert frame("hello") == b"data: hello\n\n"
    assert frame("a\nb\r\nc\rd", event="change", id="7", retry=3000) == (
        b"event: change\nid: 7\nretry: 3000\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
    )
    assert frame(comment="ping") == PING == b": ping\n\n"
    assert frame("") == b"data:\n\n"  # an empty data line: the client dispatches ""
    assert frame("é", event="x") == "event: x\ndata: é\n\n".encode()


@pytest.mark.parametrize("field", ["event", "id"])
@pytest.mark.parametrize("value", ["a\nb", "a\rb"])
def test_fields_other_than_data_refuse_line_breaks(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        frame("x", **{field: value})


def test_retry_is_a_non_negative_integer() -> None:
    with pytest.raises(ValueError, match="retry"):
        frame(retry=-1)


def test_the_end_frame() -> None:
    assert END_EVENT == "end"
    assert end_frame("expired", at="2026-01-01") == (
        b'event: end\ndata: {"reason":"expired","at":"2026-01-01"}\n\n'
    )


def test_push_queues_in_order_and_counts_buffered_bytes() -> None:
    stream = Stream(max_buffered=100, heartbeat_seconds=10)
    assert stream.push(b"abc")
    assert stream.push(b"de")
    assert stream.buffered == 5
    assert stream.take() == b"abcde"
    assert stream.buffered == 5  # taken by the writer, not yet accepted by the kernel
    stream.sent(3)
    assert stream.buffered == 2


def test_a_push_past_the_bound_drops_the_stream_with_an_end_frame() -> None:
    stream = Stream(max_buffered=10, heartbeat_seconds=10)
    reasons: list[str] = []
    stream.on_close(reasons.append)
    assert stream.push(b"0123456789")
    assert not stream.push(b"x")
    assert stream.closed
    assert stream.close_reason == "slow-consumer"
    assert reasons == ["slow-consumer"]
    assert stream.take() == b"0123456789" + end_frame("slow-consumer")
    assert not stream.push(b"y")


def test_close_is_idempotent_and_callbacks_run_once() -> None:
    stream = Stream(max_buffered=100, heartbeat_seconds=10)
    reasons: list[str] = []
    stream.on_close(reasons.append)
    stream.on_close(lambda reason: 1 / 0)  # type: ignore[func-returns-value]  # logged only
    stream.on_close(reasons.append)
    stream.close("expired", b"bye")
    stream.close("again", b"never")
    assert reasons == ["expired", "expired"]
    assert stream.close_reason == "expired"
    assert stream.take() == b"bye"
    late: list[str] = []
    stream.on_close(late.append)  # registered after the close: called at once
    assert late == ["expired"]


def test_iteration_yields_bytes_pings_and_ends_after_the_close() -> None:
    stream = Stream(max_buffered=1000, heartbeat_seconds=0.05)
    stream.push(b"first")
    chunks = iter(stream)
    assert next(chunks) == b"first"
    started = time.monotonic()
    assert next(chunks) == PING  # nothing for heartbeat_seconds
    assert time.monotonic() - started >= 0.04

    def later() -> None:
        time.sleep(0.05)
        stream.push(b"second")
        stream.close("done", b"last")

    thread = threading.Thread(target=later)
    thread.start()
    rest = b"".join(chunk for chunk in chunks if chunk != PING)
    thread.join()
    assert rest == b"secondlast"
    assert stream.buffered == 0


def test_invalid_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="max_buffered"):
        Stream(max_buffered=0, heartbeat_seconds=1)
    with pytest.raises(ValueError, match="heartbeat"):
        Stream(max_buffered=1, heartbeat_seconds=0)
