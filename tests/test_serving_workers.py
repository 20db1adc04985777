"""benben.serving_workers: what Gunicorn's master and each worker's waitress are given, Gunicorn's
log through Benben's logging, and the waitress attributes a stopping worker reads (a contract:
waitress is bounded below 4 in pyproject.toml). No process needed."""

from __future__ import annotations

import logging
import socket

import pytest
from gunicorn.config import Config
from waitress.channel import HTTPChannel
from waitress.server import create_server

from benben.serving import ProcessSettings
from benben.serving_workers import (
    BenbenLogger,
    WaitressWorker,
    _answering,
    gunicorn_options,
    waitress_options,
)

OPTIONS = {"host": "127.0.0.1", "port": 6543, "threads": 4, "connection_limit": 1000,
           "channel_timeout": 75, "cleanup_interval": 10, "backlog": 1024,
           "asyncore_use_poll": True, "trusted_proxy": "10.0.0.1"}  # fmt: skip


def test_each_workers_waitress_gets_every_option_but_the_addresses() -> None:
    options = waitress_options({**OPTIONS, "listen": "127.0.0.1:1"})
    assert "host" not in options
    assert "port" not in options
    assert "listen" not in options
    # The same connection settings, threads and [server:main] keys as one process has.
    assert options == {k: v for k, v in OPTIONS.items() if k not in ("host", "port")}


def test_gunicorn_binds_supervises_and_hands_the_sockets_to_waitress() -> None:
    options = gunicorn_options(["127.0.0.1:0"], 3, 2048, ProcessSettings(3, 20, 9))
    config = Config()
    for key, value in options.items():
        config.set(key, value)  # Gunicorn accepts every one of them
    assert config.workers == 3
    assert config.worker_class is WaitressWorker
    assert config.backlog == 2048
    assert (config.timeout, config.graceful_timeout) == (20, 9)
    assert config.preload_app is False
    assert config.control_socket_disable is True


def test_gunicorns_messages_go_through_benbens_logging(caplog: pytest.LogCaptureFixture) -> None:
    logger = BenbenLogger(Config())
    assert logger.error_log.handlers == []  # none of Gunicorn's own: the root's format applies
    assert logger.error_log.propagate
    with caplog.at_level(logging.INFO):
        logger.info("Booting worker with pid: %s", 1234)
    assert ("gunicorn.error", logging.INFO, "Booting worker with pid: 1234") in caplog.record_tuples


def test_a_stopping_worker_waits_for_a_connection_with_a_request_only() -> None:
    """The attributes of waitress's HTTPChannel that _answering reads exist and mean this."""
    channels: dict[int, object] = {}
    with socket.create_server(("127.0.0.1", 0)) as listening:
        server = create_server(lambda environ, start: [], map=channels, sockets=[listening])
        client = socket.create_connection(listening.getsockname())
        peer, address = listening.accept()
        try:
            channel = HTTPChannel(server, peer, address, server.adj, map=channels)
            assert not _answering(channel)  # connected, nothing sent: an idle connection
            channel.received(b"GET / HTTP/1.1\r\n")
            assert _answering(channel)  # a request being received
            channel.request = None
            channel.requests = [object()]
            assert _answering(channel)  # a request received, not yet answered
            channel.requests = []
            channel.total_outbufs_len = 10
            assert _answering(channel)  # an answer not yet sent
            assert not _answering(server)  # the listener itself is not a connection
        finally:
            client.close()
            server.task_dispatcher.shutdown(timeout=1)
            for dispatcher in list(channels.values()):
                dispatcher.close()
