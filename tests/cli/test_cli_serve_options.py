"""How `benben serve` combines [server:main] with its options (no process needed)."""

from __future__ import annotations

import pytest

from benben.cli.common import CommandError
from benben.cli.serve import server_options as _server_options

WAITRESS = {"use": "egg:waitress#main"}
# The connection settings (benben.serving), chosen for every server whatever the ini says.
CONNECTIONS = {
    "connection_limit": 1000,
    "channel_timeout": 75,
    "cleanup_interval": 10,
    "backlog": 1024,
    "max_request_body_size": (1 << 30) + (16 << 20),
    "asyncore_use_poll": True,
}


def server_options(ini, host, port, threads, environ=None):
    """Without the caller's BENBEN_SERVER_* variables unless a test gives some."""
    return _server_options(ini, host, port, threads, {} if environ is None else environ)


def test_defaults_without_an_ini():
    assert server_options({}, None, None, None) == {
        "host": "127.0.0.1",
        "port": 6543,
        "threads": 4,
        **CONNECTIONS,
    }


def test_ini_listen_and_other_waitress_options_pass_through():
    ini = {**WAITRESS, "listen": "10.0.0.5:6543 [::1]:6543", "threads": "8", "url_scheme": "https"}
    assert server_options(ini, None, None, None) == {
        "listen": "10.0.0.5:6543 [::1]:6543",
        "threads": 8,
        "url_scheme": "https",
        **CONNECTIONS,
    }


def test_command_line_wins_and_is_completed_from_the_ini():
    ini = {**WAITRESS, "listen": "10.0.0.5:7000", "threads": "8"}
    assert server_options(ini, None, 0, None) == {
        "host": "10.0.0.5",
        "port": 0,
        "threads": 8,
        **CONNECTIONS,
    }
    assert server_options(ini, "127.0.0.1", None, 2) == {
        "host": "127.0.0.1",
        "port": "7000",
        "threads": 2,
        **CONNECTIONS,
    }
    host_port = {**WAITRESS, "host": "10.0.0.5", "port": "8080"}
    assert server_options(host_port, None, 9090, None) == {
        "host": "10.0.0.5",
        "port": 9090,
        "threads": 4,
        **CONNECTIONS,
    }


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        (
            {"use": "egg:gunicorn#main"},
            "[server:main] uses egg:gunicorn#main, but benben serve runs waitress",
        ),
        (
            {**WAITRESS, "listen": "127.0.0.1:6543", "port": "6544"},
            "[server:main] sets both listen and host/port: keep one of them",
        ),
        (
            {**WAITRESS, "threads": "0"},
            "[server:main] threads: invalid thread count '0': expected 1-1024",
        ),
        (
            {**WAITRESS, "connection_limit": "many"},
            "invalid server option: invalid value 'many' for setting "
            "benben.server.connection_limit (from [server:main] connection_limit): "
            "expected an integer",
        ),
        (
            {**WAITRESS, "channel_timeout": "0"},
            "invalid server option: invalid value '0' for setting benben.server.channel_timeout "
            "(from [server:main] channel_timeout): must be >= 1",
        ),
        (
            {**WAITRESS, "asyncore_use_poll": "false"},
            "invalid server option: [server:main] asyncore_use_poll = false: select() cannot "
            "watch more than 1024 sockets",
        ),
    ],
)
def test_bad_server_sections_are_usage_errors(ini, message):
    with pytest.raises(CommandError) as caught:
        server_options(ini, None, None, None)
    assert str(caught.value).startswith(message)
    assert caught.value.exit_code == 2


def test_ini_connection_settings_then_the_environment_win_over_the_defaults():
    ini = {
        **WAITRESS,
        "connection_limit": "2000",
        "channel_timeout": "40",
        "cleanup_interval": "",  # empty: the default
        "asyncore_use_poll": "true",
    }
    environ = {"BENBEN_SERVER_CHANNEL_TIMEOUT": "30", "BENBEN_SERVER_BACKLOG": "512"}
    options = server_options(ini, None, None, None, environ)
    assert {key: options[key] for key in CONNECTIONS} == {
        "connection_limit": 2000,  # ini
        "channel_timeout": 30,  # environment over ini
        "cleanup_interval": 10,  # default
        "backlog": 512,  # environment
        "max_request_body_size": CONNECTIONS["max_request_body_size"],  # default
        "asyncore_use_poll": True,
    }


def test_bad_environment_value_names_the_variable():
    with pytest.raises(CommandError) as caught:
        server_options({}, None, None, None, {"BENBEN_SERVER_CONNECTION_LIMIT": "5"})
    assert str(caught.value) == (
        "invalid server option: invalid value '5' for setting benben.server.connection_limit "
        "(from environment variable BENBEN_SERVER_CONNECTION_LIMIT): must be >= 10"
    )
    assert caught.value.exit_code == 2


def test_the_options_reach_waitress():
    """What benben serve hands to waitress.create_server ends up in the server's adjustments."""
    import waitress.server

    environ = {"BENBEN_SERVER_CONNECTION_LIMIT": "321", "BENBEN_SERVER_CLEANUP_INTERVAL": "3"}
    options = server_options({**WAITRESS, "listen": "127.0.0.1:0"}, None, None, None, environ)
    server = waitress.server.create_server(lambda environ, start_response: [], **options)
    try:
        adj = server.adj
        assert (adj.connection_limit, adj.cleanup_interval) == (321, 3)
        assert (adj.channel_timeout, adj.backlog) == (75, 1024)
        assert adj.asyncore_use_poll is True
        assert adj.threads == 4
    finally:
        server.task_dispatcher.shutdown()  # its worker threads: close() leaves them running
        server.close()
