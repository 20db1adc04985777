"""benben.serving_workers: waitress's options mapped onto Gunicorn's, what has no equivalent,
and Gunicorn's log through Benben's logging (no process needed)."""

from __future__ import annotations

import logging

import pytest
from gunicorn.config import Config

from benben.serving import ProcessSettings
from benben.serving_workers import (
    REQUEST_LINE_LIMIT,
    BenbenLogger,
    GracefulThreadWorker,
    gunicorn_options,
    unmapped_options,
)

CONNECTIONS = {"connection_limit": 1000, "channel_timeout": 75, "backlog": 1024}


def test_connection_and_process_settings_map_onto_gunicorn() -> None:
    options = gunicorn_options(
        ["127.0.0.1:6543"], 3, 2, CONNECTIONS, ProcessSettings(3, timeout=20, graceful_timeout=9)
    )
    assert options["workers"] == 3
    assert options["threads"] == 2
    assert options["worker_class"] is GracefulThreadWorker
    assert options["worker_connections"] == 1000  # per process, as waitress's limit
    assert options["keepalive"] == 75  # waitress's channel_timeout
    assert options["backlog"] == 1024
    assert (options["timeout"], options["graceful_timeout"]) == (20, 9)
    assert options["limit_request_line"] == REQUEST_LINE_LIMIT
    # Proxies are the app's to believe (benben.security.trusted_proxies), never Gunicorn's.
    assert options["forwarded_allow_ips"] == ""
    assert options["preload_app"] is False
    assert options["accesslog"] is None


def test_gunicorn_accepts_every_mapped_option() -> None:
    config = Config()
    for key, value in gunicorn_options(
        ["127.0.0.1:0"], 2, 4, CONNECTIONS, ProcessSettings(2, 30, 30)
    ).items():
        config.set(key, value)
    assert config.forwarded_allow_ips == []
    assert config.worker_class is GracefulThreadWorker
    assert config.control_socket_disable is True


def test_waitress_only_options_are_named() -> None:
    waitress_only = {"trusted_proxy": "10.0.0.1", "url_scheme": "https"}
    options = {"host": "h", "port": 1, "threads": 4, **CONNECTIONS, "cleanup_interval": 10,
               "asyncore_use_poll": True, **waitress_only}  # fmt: skip
    assert unmapped_options(options) == ["trusted_proxy", "url_scheme"]


def test_gunicorns_messages_go_through_benbens_logging(caplog: pytest.LogCaptureFixture) -> None:
    logger = BenbenLogger(Config())
    assert logger.error_log.handlers == []  # none of Gunicorn's own: the root's format applies
    assert logger.error_log.propagate
    with caplog.at_level(logging.INFO):
        logger.info("Booting worker with pid: %s", 1234)
    assert ("gunicorn.error", logging.INFO, "Booting worker with pid: 1234") in caplog.record_tuples
