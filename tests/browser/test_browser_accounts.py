"""The console's account pages in a real browser (as an administrator): a user created, made an
administrator, deactivated, given a new password; a group created, a member added and removed;
and the frame's details: the navigation marking only the current page, dialogs' spacing, a
fieldset's error shown. axe-core checks every page shown; console errors and CSP violations fail
a test (conftest)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_support import ADMIN_PASSWORD, LiveServer
from console_support import Console
from playwright.sync_api import expect

pytestmark = pytest.mark.slow

NEW_PASSWORD = "a new passphrase, long enough"


@pytest.fixture
def console(page: Any, axe: Any, live: LiveServer) -> Console:
    console = Console(page)
    console.login(check=axe)
    return console


def can_log_in(live: LiveServer, username: str, password: str) -> bool:
    answer = live.api(
        "POST", "/api/v1/auth/login", {"username": username, "password": password}, user=None
    )
    return answer.status == 200


def test_user_created_promoted_deactivated_password_set(
    console: Console, live: LiveServer, axe: Any
) -> None:
    page = console.page
    console.open("/admin/users")
    page.get_by_role("table", name="Users").get_by_role("link", name="admin").wait_for()
    axe(page, "the users page")

    page.get_by_role("button", name="New user").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Username").fill("bob")
    dialog.get_by_label("Display name").fill("Bob Builder")
    dialog.get_by_label("Email").fill("bob@example.org")
    dialog.get_by_label("Password").fill(ADMIN_PASSWORD)
    axe(page, "the new user dialog")
    dialog.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="Bob Builder (bob)", level=1).wait_for()
    console.settle()
    uid = page.url.rstrip("/").rsplit("/", 1)[1]
    axe(page, "a user's page")
    user = live.api("GET", f"/api/v1/users/{uid}").json()
    assert (user["username"], user["is_active"]) == ("bob", True)
    assert "admin" not in user.get("roles", [])

    # An administrator, and no longer allowed to log in.
    profile = page.get_by_role("form", name="Profile")
    profile.get_by_role("switch", name="Administrator").check()
    profile.get_by_role("switch", name="Active (may log in)").uncheck()
    profile.get_by_role("button", name="Save").click()
    page.get_by_text("This account is deactivated: it cannot log in.").wait_for()
    console.settle()
    axe(page, "a deactivated user's page")
    user = live.api("GET", f"/api/v1/users/{uid}").json()
    assert "admin" in user["roles"]
    assert user["is_active"] is False
    assert not can_log_in(live, "bob", ADMIN_PASSWORD)

    # A new password; reactivated, bob logs in with it (and not with the old one).
    form = page.get_by_role("form", name="Set a new password")
    form.get_by_label("New password").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Change password").click()
    page.get_by_text("Password changed.").wait_for()
    assert form.get_by_label("New password").input_value() == ""
    profile = page.get_by_role("form", name="Profile")
    profile.get_by_role("switch", name="Active (may log in)").check()
    profile.get_by_role("button", name="Save").click()
    page.get_by_text("This account is deactivated: it cannot log in.").wait_for(state="detached")
    assert can_log_in(live, "bob", NEW_PASSWORD)
    assert not can_log_in(live, "bob", ADMIN_PASSWORD)

    # The list says so.
    console.open("/admin/users")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="bob"))
    assert row.get_by_role("cell").nth(1).inner_text() == "Bob Builder"


def test_group_created_member_added_and_removed(
    console: Console, live: LiveServer, axe: Any
) -> None:
    page = console.page
    live.create_user("carol")
    console.open("/admin/groups")
    page.get_by_text("No groups yet.").wait_for()
    axe(page, "the groups page")

    page.get_by_role("button", name="New group").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("readers")
    dialog.get_by_label("Description").fill("People who read")
    axe(page, "the new group dialog")
    dialog.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="Group readers", level=1).wait_for()
    console.settle()
    page.get_by_text("This group has no members.").wait_for()
    axe(page, "a group's page")
    assert live.api("GET", "/api/v1/groups/readers").json()["description"] == "People who read"

    page.get_by_label("Add a member (username)").fill("carol")
    page.get_by_role("button", name="Add", exact=True).click()
    members = page.get_by_role("table", name="Members of readers")
    members.get_by_role("link", name="carol").wait_for()
    assert _members(live) == ["carol"]

    page.get_by_role("button", name="Remove carol from readers").click()
    axe(page, "the remove member confirmation")
    page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    page.get_by_text("This group has no members.").wait_for()
    assert _members(live) == []

    # A username that does not exist is said next to the field.
    username = page.get_by_label("Add a member (username)")
    username.fill("nobody")
    page.get_by_role("button", name="Add", exact=True).click()
    error = page.locator(f"#{username.get_attribute('id')}-error")
    error.filter(has_text="no such user").wait_for()
    assert username.get_attribute("aria-invalid") == "true"
    axe(page, "a group's page with an error")
    assert _members(live) == []


def _members(live: LiveServer) -> list[str]:
    answer = live.api("GET", "/api/v1/groups/readers/members")
    assert answer.status == 200, answer
    return [m["username"] for m in answer.json()["data"]]


def test_navigation_marks_only_the_current_page(console: Console, axe: Any) -> None:
    page = console.page
    nav = page.locator("#bb-nav")
    current = nav.locator("a[aria-current=page]")
    console.open("/admin/plugins/webhooks")
    page.get_by_role("heading", name="Webhooks", level=1).wait_for()
    console.settle()
    expect(current).to_have_text(["Webhooks"])
    axe(page, "a plugin's page")
    console.open("/admin/plugins")
    console.settle()
    expect(current).to_have_text(["Installed plugins"])
    axe(page, "the installed plugins")
    console.open("/admin/users")
    expect(current).to_have_text(["Users"])


def test_dialog_spacing_and_fieldset_error(console: Console, axe: Any) -> None:
    page = console.page
    console.open("/admin/tokens")
    axe(page, "the tokens page")
    page.get_by_role("button", name="New token").click()
    dialog = page.get_by_role("dialog")
    # Bootstrap's modal spacing, though a <dialog> is not a .modal.
    paddings = page.evaluate(
        """() => ['.modal-header', '.modal-body'].map(
             (s) => getComputedStyle(document.querySelector('dialog ' + s)).paddingLeft)"""
    )
    assert paddings == ["16px", "16px"]
    # No scope: the API's error on /scopes shows under the scopes' fieldset.
    dialog.get_by_label("Name").fill("no scopes")
    dialog.get_by_label(re.compile("^read:")).uncheck()
    dialog.get_by_role("button", name="Create").click()
    error = page.locator("#token-scopes-error")
    error.wait_for(state="visible")
    assert error.inner_text().strip()
    axe(page, "the token dialog with an error")
