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
