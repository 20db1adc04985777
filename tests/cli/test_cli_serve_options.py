"""How `benben serve` combines [server:main] with its options (no process needed)."""

from __future__ import annotations

import pytest

from benben.cli.common import CommandError
from benben.cli.serve import server_options

WAITRESS = {"use": "egg:waitress#main"}


def test_defaults_without_an_ini():
    assert server_options({}, None, None, None) == {
        "host": "127.0.0.1",
        "port": 6543,
        "threads": 4,
    }


def test_ini_listen_and_other_waitress_options_pass_through():
    ini = {**WAITRESS, "listen": "10.0.0.5:6543 [::1]:6543", "threads": "8", "url_scheme": "https"}
    assert server_options(ini, None, None, None) == {
        "listen": "10.0.0.5:6543 [::1]:6543",
        "threads": 8,
        "url_scheme": "https",
    }


def test_command_line_wins_and_is_completed_from_the_ini():
    ini = {**WAITRESS, "listen": "10.0.0.5:7000", "threads": "8"}
    assert server_options(ini, None, 0, None) == {"host": "10.0.0.5", "port": 0, "threads": 8}
    assert server_options(ini, "127.0.0.1", None, 2) == {
        "host": "127.0.0.1",
        "port": "7000",
        "threads": 2,
    }
    host_port = {**WAITRESS, "host": "10.0.0.5", "port": "8080"}
    assert server_options(host_port, None, 9090, None) == {
        "host": "10.0.0.5",
        "port": 9090,
        "threads": 4,
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
    ],
)
def test_bad_server_sections_are_usage_errors(ini, message):
    with pytest.raises(CommandError) as caught:
        server_options(ini, None, None, None)
    assert str(caught.value).startswith(message)
    assert caught.value.exit_code == 2
