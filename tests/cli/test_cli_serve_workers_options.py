"""`benben serve --workers N`: the option, the addresses Gunicorn binds, what is refused (no
process needed)."""

from __future__ import annotations

import pytest

from benben.cli.serve import _bind, workers_option


def test_waitress_endpoints_become_gunicorn_binds() -> None:
    assert _bind({"host": "127.0.0.1", "port": 6543}) == ["127.0.0.1:6543"]
    assert _bind({"host": "::1", "port": 0}) == ["[::1]:0"]
    listen = {"listen": "0.0.0.0:6543 [::1]:7000 *:8000 9000"}
    assert _bind(listen) == ["0.0.0.0:6543", "[::1]:7000", "0.0.0.0:8000", "0.0.0.0:9000"]


@pytest.mark.parametrize(("text", "expected"), [("auto", "auto"), ("AUTO", "auto"), ("4", 4)])
def test_workers_option_values(text: str, expected: object) -> None:
    assert workers_option(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "257", "two"])
def test_workers_option_refuses(cli, text: str) -> None:
    result = cli("serve", "--workers", text)
    assert result.code == 2
    assert f"invalid worker count {text!r}" in result.err
