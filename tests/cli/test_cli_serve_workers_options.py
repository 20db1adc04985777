"""How `benben serve --workers N` maps its options onto Gunicorn (no process needed)."""

from __future__ import annotations

import pytest

from benben.cli.serve import _bind, workers_option
from benben.serving import ProcessSettings
from benben.serving_workers import (
    REQUEST_LINE_LIMIT,
    GracefulThreadWorker,
    gunicorn_options,
    unmapped_options,
)

CONNECTIONS = {"connection_limit": 1000, "channel_timeout": 75, "backlog": 1024}


def test_waitress_endpoints_become_gunicorn_binds() -> None:
    assert _bind({"host": "127.0.0.1", "port": 6543}) == ["127.0.0.1:6543"]
    assert _bind({"host": "::1", "port": 0}) == ["[::1]:0"]
    listen = {"listen": "0.0.0.0:6543 [::1]:7000 *:8000 9000"}
    assert _bind(listen) == ["0.0.0.0:6543", "[::1]:7000", "0.0.0.0:8000", "0.0.0.0:9000"]


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
    from gunicorn.config import Config

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


def test_an_ini_with_waitress_only_options_is_refused_with_several_workers(cli, workdir) -> None:
    ini = workdir / "app.ini"
    ini.write_text(
        "[app:main]\nuse = egg:benben\nbenben.cache.backend = redis\n"
        "benben.database.url = postgresql://nowhere.invalid/benben\n"
        "[server:main]\nuse = egg:waitress#main\nlisten = 127.0.0.1:0\n"
        "trusted_proxy = 10.0.0.1\n"
    )
    result = cli("serve", "--ini", str(ini), "--workers", "2")
    assert result.code == 2
    assert "[server:main] trusted_proxy" in result.err
    assert "benben.security.trusted_proxies" in result.err


@pytest.mark.parametrize(("text", "expected"), [("auto", "auto"), ("AUTO", "auto"), ("4", 4)])
def test_workers_option_values(text: str, expected: object) -> None:
    assert workers_option(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "257", "two"])
def test_workers_option_refuses(cli, text: str) -> None:
    result = cli("serve", "--workers", text)
    assert result.code == 2
    assert f"invalid worker count {text!r}" in result.err
