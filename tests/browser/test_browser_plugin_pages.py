"""Plugins' pages in the console, in a real browser: the webhooks page (an endpoint created,
listed, tested, its delivery in the log) and the files page (a collection's attachment policy
set and shown). axe-core checks every state shown; console errors and CSP violations fail a test
(conftest)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_support import LiveServer
from console_support import Console

pytestmark = pytest.mark.slow

HOOK = "https://hooks.example.org/x"


@pytest.fixture
def page(page: Any) -> Any:
    # Bootstrap drops its colour transitions under reduced motion: axe-core, run right after a
    # click, then measures the colours a link ends with, not a mix halfway through.
    page.emulate_media(reduced_motion="reduce")
    return page


@pytest.fixture(scope="module")
def collection(live: LiveServer) -> str:
    answer = live.api("POST", "/api/v1/collections", {"id": "photos", "title": "Photos"})
    assert answer.status == 201, answer
    return "photos"


def test_webhooks_page(page: Any, live: LiveServer, axe: Any, collection: str) -> None:
    console = Console(page)
    console.login(check=axe)
    # The page is in the navigation, under the plugins' section.
    page.locator("#bb-nav").get_by_role("link", name="Webhooks").click()
    page.get_by_role("heading", name="Webhooks", level=1).wait_for()
    console.settle()
    axe(page, "the webhooks page, empty")

    page.get_by_role("button", name="New endpoint").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("URL").fill(HOOK)
    dialog.get_by_label("Description").fill("Our receiver")
    dialog.get_by_label("Event types").fill("record.*")
    dialog.get_by_label(collection).check()
    axe(page, "the new endpoint dialog")
    dialog.get_by_role("button", name="Create").click()
    # The signing secret is shown once.
    secret = page.get_by_label("Signing secret")
    secret.wait_for()
    assert secret.input_value().startswith("whsec_")
    axe(page, "the new endpoint's secret")
    page.get_by_role("dialog").get_by_role("button", name="Done").click()

    row = page.get_by_role("row").filter(has_text=HOOK)
    row.get_by_text("Active").wait_for()
    assert "record.*" in row.inner_text()
    assert collection in row.inner_text()
    axe(page, "the webhooks page with an endpoint")

    # "Send test" queues a webhook.test event and shows the endpoint's delivery log.
    row.get_by_role("button", name=f"Send test: {HOOK}").click()
    page.get_by_role("heading", name="Delivery log").wait_for()
    console.settle()
    assert re.search(r"/admin/plugins/webhooks\?endpoint=", page.url)
    delivery = page.locator("main table tbody tr").filter(has_text="webhook.test")
    delivery.first.wait_for()
    axe(page, "the endpoint's delivery log")
    console.set_theme("dark")
    axe(page, "the endpoint's delivery log in the dark theme")
    console.set_theme("light")

    delivery.first.get_by_role("button", name=re.compile("^Details")).click()
    details = page.get_by_role("dialog")
    details.get_by_text("Message id (webhook-id)").wait_for()
    axe(page, "a delivery's details")
    details.get_by_role("button", name="Close").first.click()

    # Redelivering keeps it in the log, pending again or sent.
    delivery.first.get_by_role("button", name=re.compile("^Redeliver")).click()
    page.get_by_text("Delivery queued again.").wait_for()
    page.locator("main table tbody tr").filter(has_text="webhook.test").first.wait_for()


def test_files_page(page: Any, live: LiveServer, axe: Any, collection: str) -> None:
    console = Console(page)
    console.login()
    page.locator("#bb-nav").get_by_role("link", name="Files").click()
    page.get_by_role("heading", name="Files", level=1).wait_for()
    console.settle()
    axe(page, "the files page")

    page.get_by_role("link", name=f"Attachment policy of {collection}").click()
    page.get_by_role("heading", name=f"Attachment policy: {collection}").wait_for()
    console.settle()
    summary = page.locator("#policy-summary")
    assert "(instance default)" in summary.locator("dd[data-term='Largest file']").inner_text()
    axe(page, "a collection's attachment policy")

    page.get_by_label("Largest file", exact=True).fill("5")
    page.get_by_label("Unit of largest file").select_option(label="MiB")
    page.get_by_label("Allowed types").fill("image/*, application/pdf")
    page.get_by_role("button", name="Save policy").click()
    page.get_by_text("Attachment policy saved.").wait_for()
    largest = summary.locator("dd[data-term='Largest file']")
    assert largest.inner_text() == "5 MiB (this collection's)"
    assert (
        "image/*, application/pdf" in summary.locator("dd[data-term='Allowed types']").inner_text()
    )
    answer = live.api("GET", f"/api/v1/collections/{collection}/attachment-policy").json()
    assert answer["max_file_size"] == 5 * 1024 * 1024
    assert answer["effective"]["allowed_types"] == ["image/*", "application/pdf"]

    # A refused value is shown next to its field.
    page.get_by_label("Thumbnail sizes").fill("9999x9999")
    page.get_by_role("button", name="Save policy").click()
    invalid = page.get_by_label("Thumbnail sizes")
    page.wait_for_function(
        "() => document.querySelector('[name=thumbnail_sizes]').getAttribute('aria-invalid')"
    )
    assert invalid.get_attribute("aria-invalid") == "true"
    axe(page, "the policy form with an error")
    console.set_theme("dark")
    axe(page, "the policy form in the dark theme")
