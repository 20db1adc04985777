"""A newcomer's first run: ``benben serve`` on an instance without users prints a setup URL;
opening it in the browser creates the first administrator and logs them in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import LiveServer

PASSWORD = "a long enough first password"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[LiveServer]:
    """A server started with no administrator configured: no user at all."""
    server = LiveServer(tmp_path_factory.mktemp("first-run"), BENBEN_ADMIN_PASSWORD="")
    yield server
    server.stop()


def _setup_url(live: LiveServer) -> str:
    stdout = live.server.process.stdout
    assert stdout is not None
    for _ in range(20):
        line = stdout.readline()
        if line.strip().startswith("setup "):
            return line.split()[1]
    raise AssertionError("benben serve printed no setup URL")


def test_the_printed_setup_url_creates_the_first_administrator(
    page: Any, live: LiveServer, axe: Any
) -> None:
    url = _setup_url(live)
    assert url.startswith(f"{live.url}/admin/setup#")
    # The login page says where to go while there is no user.
    page.goto("/admin/login")
    page.get_by_text("No administrator yet").wait_for()
    axe(page, "the login page before any user")

    page.goto(url.removeprefix(live.url))
    page.get_by_role("heading", name="Create the first administrator").wait_for()
    axe(page, "the setup page")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=again]").fill(PASSWORD + "!")
    page.get_by_role("button", name="Create and log in").click()
    page.get_by_text("The two passwords differ.").wait_for()
    page.locator("input[name=again]").fill(PASSWORD)
    page.get_by_role("button", name="Create and log in").click()
    page.locator("#logout").wait_for()
    assert page.url == f"{live.url}/admin/"  # the token left the address bar
    axe(page, "home, just set up")
    # Logged in as the new administrator, and the link is spent.
    assert live.api("GET", "/api/v1/auth/setup", user=None).json() == {"needed": False}
    assert live.access_token("admin", PASSWORD)
