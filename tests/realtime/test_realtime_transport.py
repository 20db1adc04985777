"""The stream transport served for real (waitress with the hand-off, as under benben serve): a
stream frees its worker thread, its frames arrive in order with heartbeats between them, a client
leaving or reading too slowly is noticed, a server stop ends every stream with an end frame.
A tiny Pyramid app of this file's own opens the streams, so none of realtime's views is needed.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response

from benben.realtime.handoff import stream_response
from benben.realtime.sse import end_frame, frame
from benben.realtime.stream import Stream
from benben.testing_streams import open_sse, serve_streaming

PROMPT = 5.0  # seconds: "at once" on a loaded CI machine


@dataclass
class Streams:
    """The streams the test app opened, in order, and the reasons they closed with."""

    max_buffered: int = 1 << 20
    heartbeat_seconds: float = 30.0
    opened: list[Stream] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)
    closed: threading.Condition = field(default_factory=threading.Condition)

    def open(self) -> Stream:
        stream = Stream(max_buffered=self.max_buffered, heartbeat_seconds=self.heartbeat_seconds)
        index = len(self.opened)
        self.opened.append(stream)
        stream.on_close(lambda reason: self._closed(index, reason))
        return stream

    def _closed(self, index: int, reason: str) -> None:
        with self.closed:
            self.reasons[index] = reason
            self.closed.notify_all()

    def wait_closed(self, index: int, timeout: float = PROMPT) -> str | None:
        with self.closed:
            self.closed.wait_for(lambda: index in self.reasons, timeout)
            return self.reasons.get(index)

    def wait_opened(self, count: int, timeout: float = PROMPT) -> None:
        deadline = time.monotonic() + timeout
        while len(self.opened) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.opened) >= count


def make_app(streams: Streams) -> Any:
    def events(request: Request) -> Response:
        stream = streams.open()
        stream.push(frame("hello", event="open", id="0"))
        if "finite" in request.params:  # three events, then the end
            stream.push(frame("1", id="1"))
            stream.push(frame("2", id="2"))
            stream.close("done", end_frame("done"))
        return stream_response(request, stream, headers={"X-Stream": str(len(streams.opened))})

    def plain(request: Request) -> Response:
        return Response("plain", content_type="text/plain")

    with Configurator() as config:
        config.add_route("events", "/events")
        config.add_view(events, route_name="events", request_method=("GET", "HEAD"))
        config.add_route("plain", "/plain")
        config.add_view(plain, route_name="plain")
    return config.make_wsgi_app()


@pytest.fixture
def streams() -> Streams:
    return Streams()


@pytest.fixture
def base_url(streams: Streams) -> Iterator[str]:
    with serve_streaming(make_app(streams), threads=1) as url:
        yield url


def get_plain(base_url: str) -> bytes:
    with urllib.request.urlopen(f"{base_url}/plain", timeout=PROMPT) as response:  # noqa: S310
        return bytes(response.read())


def test_streams_hold_no_worker_thread(base_url: str, streams: Streams) -> None:
    """One waitress thread: fifty open streams, and a normal request is still answered."""
    clients = [open_sse(f"{base_url}/events") for _ in range(50)]
    try:
        assert get_plain(base_url) == b"plain"
        for client in clients:
            assert client.next_event(PROMPT)["event"] == "open"
        for stream in streams.opened:
            stream.push(frame("to all"))
        assert [c.next_event(PROMPT)["data"] for c in clients] == ["to all"] * 50
        assert get_plain(base_url) == b"plain"
    finally:
        for client in clients:
            client.close()


def test_handed_off_streams_do_not_count_against_the_connection_limit(streams: Streams) -> None:
    with serve_streaming(make_app(streams), threads=1, connection_limit=10) as base_url:
        clients = [open_sse(f"{base_url}/events") for _ in range(30)]
        try:
            assert get_plain(base_url) == b"plain"
            assert all(c.next_event(PROMPT)["event"] == "open" for c in clients)
        finally:
            for client in clients:
                client.close()


def test_the_response_head(base_url: str) -> None:
    with open_sse(f"{base_url}/events") as client:
        assert client.status == 200
        assert client.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert client.headers["cache-control"] == "no-store"
        assert client.headers["x-accel-buffering"] == "no"
        assert client.headers["x-stream"] == "1"  # the view's own headers
        assert client.headers["connection"] == "close"  # the body ends with the connection
        assert "content-length" not in client.headers
        assert "transfer-encoding" not in client.headers


def test_frames_arrive_in_order(base_url: str, streams: Streams) -> None:
    with open_sse(f"{base_url}/events") as client:
        assert client.next_event(PROMPT)["data"] == "hello"
        (stream,) = streams.opened

        def produce(name: str) -> None:
            for number in range(300):
                assert stream.push(frame(f"{name}{number}", event=name))

        producers = [threading.Thread(target=produce, args=(n,)) for n in ("a", "b")]
        for producer in producers:
            producer.start()
        for producer in producers:
            producer.join()
        received = [client.next_event(PROMPT) for _ in range(600)]
        for name in ("a", "b"):  # each producer's frames in the order it pushed them
            mine = [e["data"] for e in received if e["event"] == name]
            assert mine == [f"{name}{n}" for n in range(300)]


def test_a_silent_stream_gets_heartbeats(streams: Streams) -> None:
    streams.heartbeat_seconds = 0.2
    with serve_streaming(make_app(streams)) as base_url, open_sse(f"{base_url}/events") as client:
        assert client.next_event(PROMPT)["event"] == "open"
        started = time.monotonic()
        assert client.next_event(PROMPT, comments=True) == {"comment": "ping"}
        assert client.next_event(PROMPT, comments=True) == {"comment": "ping"}
        assert time.monotonic() - started >= 0.3  # after silences, not at once
        streams.opened[0].push(frame("news"))
        assert client.next_event(PROMPT)["data"] == "news"  # pings are skipped by default


def test_a_client_leaving_closes_its_stream(base_url: str, streams: Streams) -> None:
    client = open_sse(f"{base_url}/events")
    assert client.next_event(PROMPT)["event"] == "open"
    client.close()
    assert streams.wait_closed(0) == "client-gone"
    assert streams.opened[0].buffered == 0
    assert not streams.opened[0].push(b"data: late\n\n")


def test_a_closed_stream_sends_its_last_frame_then_ends(base_url: str, streams: Streams) -> None:
    with open_sse(f"{base_url}/events?finite=1") as client:
        events = client.events(PROMPT)
    assert [e["data"] for e in events] == ["hello", "1", "2", '{"reason":"done"}']
    assert events[-1]["event"] == "end"
    assert streams.wait_closed(0) == "done"


def test_a_slow_consumer_is_dropped_with_an_end_frame(base_url: str, streams: Streams) -> None:
    """A client that reads nothing while megabytes are pushed: the stream never holds more than
    its bound, and is closed with the slow-consumer end frame once the bound is reached."""
    streams.max_buffered = 64 * 1024
    client = open_sse(f"{base_url}/events")
    assert client.next_event(PROMPT)["event"] == "open"  # handed off; from now on, no reading
    stream = streams.opened[0]
    chunk = frame("x" * 1000)
    pushed = highest = 0
    while stream.push(chunk):
        pushed += 1
        highest = max(highest, stream.buffered)
        assert pushed < 256 << 10, "never dropped"
    assert highest <= streams.max_buffered
    assert streams.wait_closed(0) == "slow-consumer"
    # What the kernels' buffers hold (on loopback, a few MiB at most), plus the stream's bound.
    assert pushed * len(chunk) < 32 << 20
    with client:
        events = client.events(30)
    # Every frame the stream accepted, then the end frame.
    assert [e["data"] for e in events] == ["x" * 1000] * pushed + ['{"reason":"slow-consumer"}']
    assert events[-1]["event"] == "end"


def test_a_server_stop_ends_every_stream(streams: Streams) -> None:
    with serve_streaming(make_app(streams)) as base_url:
        clients = [open_sse(f"{base_url}/events") for _ in range(3)]
        for client in clients:
            assert client.next_event(PROMPT)["event"] == "open"
    for index, client in enumerate(clients):
        with client:
            (end,) = client.events(PROMPT)
        assert end["event"] == "end"
        assert json.loads(end["data"]) == {"reason": "shutdown"}
        assert streams.wait_closed(index) == "shutdown"


def test_head_answers_the_head_and_closes_the_stream(base_url: str, streams: Streams) -> None:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=PROMPT)
    try:
        connection.request("HEAD", "/events")
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
        assert response.read() == b""
    finally:
        connection.close()
    assert streams.wait_closed(0) == "client-gone"


def test_without_the_hand_off_the_stream_is_iterated(streams: Streams) -> None:
    """Another WSGI server (here webtest): the same response, iterated in the serving thread."""
    from webtest import TestApp

    response = TestApp(make_app(streams)).get("/events?finite=1")
    assert response.content_type == "text/event-stream"
    assert response.text == (
        "event: open\nid: 0\ndata: hello\n\nid: 1\ndata: 1\n\nid: 2\ndata: 2\n\n"
        'event: end\ndata: {"reason":"done"}\n\n'
    )
    assert streams.wait_closed(0) == "done"
