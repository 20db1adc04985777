"""stream_response: a Pyramid response whose body is a :class:`Stream`.

Under ``benben serve`` the first iteration of the body hands the connection to the hub (the
environ holds the hand-off callable :mod:`benben.realtime.streaming_channel` puts there) and
ends at once: the worker thread is free, the hub writes the head and the stream. Under any other
WSGI server (pserve with another server, webtest) the body is iterated as any other, holding the
serving thread for the stream's lifetime.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from pyramid.request import Request
from pyramid.response import Response

from benben.realtime.stream import CLIENT_GONE, Stream

__all__ = ["HAND_OFF_KEY", "StreamBody", "stream_response"]

# The environ key of the callable that hands the connection over: ``hand_off(stream) -> bool``
# (False: not possible now, iterate instead).
HAND_OFF_KEY = "benben.stream.hand_off"

EVENT_STREAM = "text/event-stream; charset=utf-8"


def stream_response(
    request: Request, stream: Stream, *, headers: Mapping[str, str] | None = None
) -> Response:
    """200 ``text/event-stream``, not cached nor buffered by proxies, ``headers`` added; the
    body is ``stream``. HEAD, or a server closing the body early, closes the stream
    (``"client-gone"``)."""
    response = Response(
        status=200,
        app_iter=StreamBody(stream, request.environ.get(HAND_OFF_KEY)),
        content_type="text/event-stream",
        charset="utf-8",
    )
    response.headers["Cache-Control"] = "no-store"
    # nginx (and proxies that read it) pass each frame at once instead of buffering the body.
    response.headers["X-Accel-Buffering"] = "no"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class StreamBody:
    """The WSGI body: hands the stream off on the first iteration, or yields its bytes."""

    def __init__(self, stream: Stream, hand_off: Callable[[Stream], bool] | None) -> None:
        self.stream = stream
        self._hand_off = hand_off
        self._bytes: Iterator[bytes] | None = None
        self.handed_off = False

    def __iter__(self) -> StreamBody:
        return self

    def __next__(self) -> bytes:
        if self._bytes is None:
            if self._hand_off is not None and self._hand_off(self.stream):
                self.handed_off = True
            self._bytes = iter(self.stream)
        if self.handed_off:
            raise StopIteration  # the hub writes from now on
        return next(self._bytes)

    def close(self) -> None:
        """WSGI's close: once handed off the stream is the hub's; else the response is over."""
        if not self.handed_off:
            self.stream.close(CLIENT_GONE)
