"""waitress, taught to hand a stream's connection to the hub (see :mod:`benben.realtime.hub`).

:func:`install_streaming` sets :class:`StreamingChannel` as the ``channel_class`` of a server's
listeners (instances only: no global patching). Its tasks put a hand-off callable in the
environ; a :class:`~benben.realtime.handoff.StreamBody` calls it when waitress first iterates
the response, in the worker thread. The task then builds the response head from the status and
headers the app gave ``start_response`` (``Connection: close``, no length, no chunking: the body
ends when the connection does), writes nothing itself, and asks the channel to leave waitress:
on the event loop's thread (the only one that changes waitress's socket map and its
``active_channels``, which the loop iterates) the channel takes itself out of the map and
``detach()``es its socket, so that waitress never reads, writes, times out or closes it again,
and it no longer counts against ``connection_limit``; the hub adopts the descriptor.

waitress internals relied upon (3.x; pyproject bounds it below 4, and
tests/realtime/test_realtime_waitress_contract.py checks each): ``WSGITask.get_environment``,
``write``, ``finish``, ``status``, ``response_headers``, ``version``, ``start_time``,
``close_on_finish``, ``wrote_header``; ``HTTPChannel.writable``, ``readable``, ``handle_write``,
``handle_close``, ``del_channel``, ``socket``, ``connected``, ``server``; a server's
``channel_class`` and ``pull_trigger``; poll() registering only readable or writable channels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.task import WSGITask
from waitress.utilities import build_http_date

from benben.realtime.handoff import HAND_OFF_KEY
from benben.realtime.hub import Hub
from benben.realtime.stream import Stream

__all__ = ["StreamingChannel", "StreamingTask", "install_streaming", "stream_hub"]

HUB_ATTRIBUTE = "stream_hub"
# Set by the app (start_response) but not sent on a handed-off response: its body has neither.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})


class StreamingTask(WSGITask):
    """A WSGI task whose response body may take the connection away (see the module)."""

    handed_off = False

    def get_environment(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environment()
        environ[HAND_OFF_KEY] = self.hand_off
        return environ

    def hand_off(self, stream: Stream) -> bool:
        """Give the connection and ``stream`` to the hub. False when it cannot be: nothing
        written yet, a body allowed, a hub that runs (the response is then iterated)."""
        channel = self.channel
        hub = stream_hub(channel.server)
        if (
            hub is None
            or self.wrote_header
            or not self.complete
            or not self.has_body
            or self.request.command == "HEAD"
            or not isinstance(channel, StreamingChannel)
            or not hub.expect(stream)
        ):
            return False
        head = self._head()
        self.handed_off = True
        self.close_on_finish = True  # the channel is done with requests on this connection
        channel.leave(lambda fd: hub.adopt(stream, head, fd))
        return True

    def _head(self) -> bytes:
        headers = [(k, v) for k, v in self.response_headers if k.lower() not in FRAMING_HEADERS]
        names = {name.lower() for name, _ in headers}
        ident = self.channel.server.adj.ident
        if "server" not in names and ident:
            headers.append(("Server", ident))
        if "date" not in names:
            headers.append(("Date", build_http_date(self.start_time)))
        headers.append(("Connection", "close"))
        lines = [f"HTTP/{self.version} {self.status}", *(f"{k}: {v}" for k, v in headers)]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def write(self, data: bytes) -> None:
        if not self.handed_off:
            super().write(data)

    def finish(self) -> None:
        if not self.handed_off:  # the hub writes this response: no head, no last chunk
            super().finish()


class StreamingChannel(HTTPChannel):
    """An HTTP connection that can leave waitress for the hub (see the module)."""

    task_class = StreamingTask
    _leaving: Callable[[int], None] | None = None
    left = False

    def leave(self, adopt: Callable[[int], None]) -> None:
        """From a task's thread: on the loop's next turn, leave waitress and ``adopt(fd)``."""
        self._leaving = adopt
        self.server.pull_trigger()  # the loop re-reads writable(): this channel's turn comes

    def readable(self) -> bool:
        return not self.left and self._leaving is None and super().readable()

    def writable(self) -> bool:
        # Writable (an idle socket is) so that poll() reports it and handle_write() runs.
        return self._leaving is not None or (not self.left and bool(super().writable()))

    def handle_write(self) -> None:
        if self._leaving is not None:
            self._leave_now()
        elif not self.left:
            super().handle_write()

    def handle_read(self) -> None:
        if self._leaving is None and not self.left:
            super().handle_read()

    def handle_close(self) -> None:
        if self._leaving is not None:  # the client hung up already: the hub will notice it
            self._leave_now()
        elif not self.left:
            super().handle_close()

    def _leave_now(self) -> None:
        adopt, self._leaving = self._leaving, None
        assert adopt is not None
        self.del_channel()  # out of the map and active_channels: never polled, timed out, counted
        fd = self.socket.detach()  # waitress's own close() of it is now a no-op
        self.left = True
        self.connected = False
        adopt(fd)


def install_streaming(server: Any, hub: Hub | None = None) -> Hub:
    """Make ``server`` (what ``waitress.create_server`` returns: one listener or several)
    hand streams off to ``hub`` (a new one by default), returned; :meth:`Hub.stop` it with the
    server."""
    hub = hub or Hub()
    channels = getattr(server, "map", None)  # MultiSocketServer: its listeners' shared map
    if channels is None:
        channels = server._map
    for listener in list(channels.values()):  # each listener is in the map with its channels
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = StreamingChannel
            setattr(listener, HUB_ATTRIBUTE, hub)
    setattr(server, HUB_ATTRIBUTE, hub)
    return hub


def stream_hub(server: Any) -> Hub | None:
    """The hub :func:`install_streaming` gave ``server``, if any."""
    hub = getattr(server, HUB_ATTRIBUTE, None)
    return hub if isinstance(hub, Hub) else None
