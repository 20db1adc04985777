"""What benben.realtime.streaming_channel relies on in waitress's internals (a contract: waitress
is bounded below 4 in pyproject.toml). An upgrade that changes any of it fails here, by name,
before the stream hand-off misbehaves in production."""

from __future__ import annotations

import inspect
import socket
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server
from waitress.task import Task, WSGITask

from benben.realtime.streaming_channel import StreamingChannel, install_streaming, stream_hub


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_the_server_makes_channels_of_its_instances_channel_class() -> None:
    source = inspect.getsource(BaseWSGIServer.handle_accept)
    assert "self.channel_class(self, conn, addr, self.adj, map=self._map)" in source
    # The connection limit counts the socket map, which a channel that left is no longer in.
    assert "len(self._map) >= self.adj.connection_limit" in inspect.getsource(
        BaseWSGIServer.readable
    )
    # The timeout sweep iterates active_channels: changed by the loop's thread alone.
    assert "self.active_channels.values()" in inspect.getsource(BaseWSGIServer.maintenance)
    assert callable(BaseWSGIServer.pull_trigger)


def test_poll_watches_only_readable_or_writable_channels() -> None:
    """A channel whose task runs is neither: leaving the map then races no poll() result; the
    one leaving is writable so that handle_write runs on the loop's thread."""
    source = inspect.getsource(wasyncore.poll2)
    assert "if obj.readable():" in source
    assert "if obj.writable() and not obj.accepting:" in source
    assert "if flags:\n                pollster.register(fd, flags)" in source
    assert "obj = map.get(fd)\n            if obj is None:" in source


def test_a_channel_with_a_request_in_service_is_neither_readable_nor_writable() -> None:
    channels: dict[int, Any] = {}
    with socket.create_server(("127.0.0.1", 0)) as listening:
        server = create_server(app, map=channels, sockets=[listening])
        client = socket.create_connection(listening.getsockname())
        peer, address = listening.accept()
        try:
            channel = HTTPChannel(server, peer, address, server.adj, map=channels)
            assert server.adj.channel_request_lookahead == 0
            channel.requests = [object()]  # one request, its task running
            assert not channel.readable()
            assert not channel.writable()
            assert channel._fileno in server.active_channels
            channel.del_channel()
            assert channel._fileno is None
            assert peer.fileno() not in channels
            assert not server.active_channels
            fd = channel.socket.detach()
            channel.handle_close()  # waitress's own close of a channel that left: a no-op
            socket.socket(fileno=fd).close()
        finally:
            client.close()
            wasyncore.close_all(channels)


def test_a_task_exposes_what_the_hand_off_reads_and_overrides() -> None:
    for name in ("status", "wrote_header", "complete", "close_on_finish", "start_time"):
        assert hasattr(Task, name), name
    assert "has_body" in vars(Task)
    for name in ("write", "finish", "service"):
        assert callable(getattr(Task, name)), name
    execute = inspect.getsource(WSGITask.execute)
    assert "environ = self.get_environment()" in execute
    assert "self.response_headers.extend(headers)" in execute
    assert "self.status = status" in execute
    assert "for chunk in app_iter:" in execute
    assert "app_iter.close()" in execute
    # finish() writes the head (and chunked's last chunk) when the app wrote nothing.
    assert "self.write(" in inspect.getsource(Task.finish)
    # A task that closes on finish makes the channel drop its requests (the stream's own).
    assert "self.close_when_flushed = True" in inspect.getsource(HTTPChannel.service)


def test_install_streaming_sets_the_channel_class_and_hub_of_every_listener() -> None:
    single = create_server(app, host="127.0.0.1", port=0)
    multi = create_server(app, listen="127.0.0.1:0 127.0.0.1:0")
    try:
        assert isinstance(multi, MultiSocketServer)
        for server in (single, multi):
            hub = install_streaming(server)
            listeners = [d for d in _map(server).values() if isinstance(d, BaseWSGIServer)]
            assert listeners
            for listener in listeners:
                assert listener.channel_class is StreamingChannel
                assert stream_hub(listener) is hub
            assert HTTPChannel is BaseWSGIServer.channel_class  # the class itself untouched
            hub.stop()
    finally:
        for server in (single, multi):
            wasyncore.close_all(_map(server))


def _map(server: Any) -> dict[int, Any]:
    channels = getattr(server, "map", None)
    return channels if channels is not None else server._map
