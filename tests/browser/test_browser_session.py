"""The console's session and frame in a real browser: logging in and out, a reload restoring the
session through the refresh cookie, personal API tokens, the theme, and a phone-sized screen.
axe-core checks every page shown; console errors and CSP violations fail a test (conftest)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import LiveServer, new_context
from console_support import Console, sample_data

pytestmark = pytest.mark.slow

COOKIE = "benben_console_refresh"


@pytest.fixture(scope="module")
def data(live: LiveServer) -> dict[str, Any]:
    return sample_data(live)


def test_login_and_logout(page: Any, live: LiveServer, axe: Any, data: dict[str, Any]) -> None:
    console = Console(page)
    page.goto("/admin/")
    # Not logged in: the login page, remembering where the user was going.
    page.get_by_role("heading", name="Log in to Benben").wait_for()
    assert re.search(r"/admin/login", page.url)
    axe(page, "the login page")

    # A wrong password is said next to the form, and nothing else happens.
    page.get_by_label("Username or email").fill("admin")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").filter(has_text=re.compile(r"\S")).first.wait_for()
    axe(page, "the login page with an error")

    console.login()
    page.get_by_role("heading", name=re.compile("Welcome")).wait_for()
    axe(page, "home")
    cookie = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    assert cookie["httpOnly"]
    assert cookie["secure"]
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/admin/session"
    # The access token lives in memory only: nothing in the page's storage.
    assert (
        page.evaluate("() => JSON.stringify({...localStorage, ...sessionStorage})").find("eyJ")
        == -1
    )

    console.logout()
    assert not [c for c in page.context.cookies() if c["name"] == COOKIE]
    # After logging out, a reload does not bring the session back.
    page.reload()
    page.get_by_role("heading", name="Log in to Benben").wait_for()


def test_reload_keeps_session_and_records_query(page: Any, axe: Any, data: dict[str, Any]) -> None:
    console = Console(page)
    console.login()
    console.open("/admin/collections/books/records?_sort=-year&genre=novel")
    rows = page.locator("main table tbody tr")
    rows.first.wait_for()
    first = rows.first.get_by_role("rowheader").inner_text()
    assert first == "beloved"  # the newest novel
    axe(page, "the records page")

    page.reload()
    # The refresh cookie restored the session: no login page, the same query, the same rows.
    page.locator("#logout").wait_for()
    console.settle()
    assert page.url.endswith("/admin/collections/books/records?_sort=-year&genre=novel")
    rows.first.wait_for()
    assert rows.first.get_by_role("rowheader").inner_text() == first
    assert [r.inner_text() for r in rows.get_by_role("rowheader").all()] == [
        "beloved",
        "dune",
        "emma",
    ]


def test_tokens_created_and_revoked(
    page: Any, live: LiveServer, axe: Any, data: dict[str, Any]
) -> None:
    console = Console(page)
    console.login()
    console.open("/admin/tokens")
    axe(page, "the tokens page")

    page.get_by_role("button", name="New token").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("from the console")
    dialog.get_by_role("button", name="Create").click()
    # The secret is shown once, in a dialog of its own.
    secret = page.locator("#new-token-secret")
    secret.wait_for()
    token = secret.input_value()
    assert token.startswith("bbn_")
    axe(page, "the new token's secret")
    page.get_by_role("dialog").get_by_role("button", name=re.compile("Close|Done|OK")).first.click()
    status, _ = _me(live, token)
    assert status == 200

    page.get_by_role("button", name="Revoke token from the console").click()
    confirm = page.get_by_role("dialog")
    axe(page, "the revoke confirmation")
    confirm.get_by_role("button", name="Revoke").click()
    row = page.get_by_role("row").filter(has_text="from the console")
    row.get_by_text("Revoked").wait_for()
    assert _me(live, token)[0] == 401


def _me(live: LiveServer, token: str) -> tuple[int, Any]:
    answer = live.api(
        "GET", "/api/v1/auth/me", user=None, headers={"Authorization": f"Bearer {token}"}
    )
    return answer.status, answer.body


def test_theme_toggle(page: Any, axe: Any, data: dict[str, Any]) -> None:
    console = Console(page)
    console.login()
    before = console.theme()
    page.locator("#theme-toggle").click()
    after = console.theme()
    assert {before, after} == {"light", "dark"}
    console.set_theme("dark")
    # Every page's contrast in the dark theme too.
    for path in ("/admin/", "/admin/collections", "/admin/collections/books/records"):
        console.open(path)
        axe(page, f"{path} in the dark theme")
    # The choice is remembered across a reload, before the page paints (no white flash).
    page.reload()
    page.locator("#logout").wait_for()
    assert console.theme() == "dark"
    console.set_theme("light")
    assert page.evaluate("() => localStorage.getItem('benben-console-theme')") == "light"


@pytest.fixture
def phone(browser: Any, live: LiveServer, report: Any) -> Iterator[Any]:
    """A phone-sized page (touch, 390 x 844 CSS pixels)."""
    context = new_context(
        browser,
        live,
        report,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    yield context.new_page()
    context.close()


def test_phone_navigation(phone: Any, axe: Any, data: dict[str, Any]) -> None:
    page = phone
    console = Console(page)
    console.login()
    axe(page, "home on a phone")
    nav = page.locator("#bb-nav")
    # The navigation is folded away behind the menu button, and it opens, leads and closes.
    collections = nav.get_by_role("link", name="Collections")
    assert not collections.is_visible()
    page.get_by_role("button", name="Open navigation").click()
    collections.wait_for(state="visible")
    axe(page, "the open navigation on a phone")
    collections.click()
    page.get_by_role("heading", name="Collections", level=1).wait_for()
    console.settle()
    collections.wait_for(state="hidden")
    axe(page, "collections on a phone")
    # Nothing is wider than the screen.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
