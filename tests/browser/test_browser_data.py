"""The console's data pages in a real browser, as issue #18's proof lists them: a collection with
a schema, a record added through the generated form with a validation error shown inline, filters
and sort, an edit meeting an If-Match conflict, the history's diff and restoring a version.
axe-core checks every page shown; console errors and CSP violations fail a test (conftest)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_support import LiveServer
from console_support import BOOKS_SCHEMA, Console, sample_data

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(live: LiveServer) -> dict[str, Any]:
    return sample_data(live)


@pytest.fixture
def console(page: Any, axe: Any, data: dict[str, Any]) -> Console:
    console = Console(page)
    console.login(check=axe)
    return console


def query_of(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def record_ids(page: Any) -> list[str]:
    return [r.inner_text() for r in page.locator("main table tbody").get_by_role("rowheader").all()]


def test_create_collection_with_schema(console: Console, live: LiveServer, axe: Any) -> None:
    page = console.page
    console.open("/admin/collections")
    axe(page, "the collections page")
    page.get_by_role("button", name="New collection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Id").fill("films")
    dialog.get_by_label("Title").fill("Films")
    axe(page, "the new collection dialog")
    dialog.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="Films", level=1).wait_for()
    console.settle()
    assert urlsplit(page.url).path == "/admin/collections/films"

    editor = page.get_by_label(re.compile("^JSON Schema"))
    # Text that is not JSON is said at once, with where it breaks.
    editor.fill('{"type": "object",')
    schema_card = page.get_by_role("region", name="Schema")
    parse_status = schema_card.get_by_role("status").filter(has_text=re.compile("line", re.I))
    parse_status.wait_for()
    schema = {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}}
    editor.fill(json.dumps(schema))
    schema_card.get_by_text(re.compile("The schema is valid")).wait_for()
    axe(page, "the collection page")
    schema_card.get_by_role("button", name="Save schema").click()
    schema_card.get_by_text("Schema saved").wait_for()
    assert live.api("GET", "/api/v1/collections/films").json()["schema"] == schema


def test_schema_dry_run_names_failing_records(console: Console) -> None:
    page = console.page
    console.open("/admin/collections/books")
    schema = {**BOOKS_SCHEMA, "required": ["title", "year", "isbn"]}
    page.get_by_label(re.compile("^JSON Schema")).fill(json.dumps(schema))
    card = page.get_by_role("region", name="Schema")
    card.get_by_text(re.compile(r"existing records would fail")).wait_for()
    assert card.get_by_role("link", name="dune").count() == 1


def test_record_form_and_inline_error(console: Console, live: LiveServer, axe: Any) -> None:
    page = console.page
    console.open("/admin/collections/books/records")
    page.get_by_role("link", name="New record").click()
    form = page.get_by_role("form", name="New record")
    form.wait_for()
    axe(page, "the new record form")
    form.get_by_label("Id (optional: a random one otherwise)").fill("hobbit")
    form.get_by_role("textbox", name="title", exact=True).fill("The Hobbit")
    form.get_by_role("textbox", name="author", exact=True).fill("J. R. R. Tolkien")
    year = form.get_by_role("spinbutton", name="year", exact=True)
    year.fill("937")  # below the schema's minimum (1450): the server says so, next to the field
    form.get_by_role("combobox", name="genre", exact=True).select_option("novel")
    form.get_by_role("button", name="Add item").click()
    form.get_by_label("tags, item 1").fill("fantasy")
    form.get_by_role("button", name="Create record").click()

    error = page.locator(f"#{year.get_attribute('id')}-error")
    error.wait_for()
    assert re.search(r"1450", error.inner_text()), error.inner_text()
    assert "is-invalid" in (year.get_attribute("class") or "")
    assert year.get_attribute("aria-invalid") == "true"
    axe(page, "the form with an error")
    assert live.api("GET", "/api/v1/collections/books/records/hobbit").status == 404

    year.fill("1937")
    form.get_by_role("button", name="Create record").click()
    page.get_by_role("heading", name="hobbit", level=1).wait_for()
    console.settle()
    stored = live.api("GET", "/api/v1/collections/books/records/hobbit").json()["data"]
    assert stored == {
        "title": "The Hobbit",
        "author": "J. R. R. Tolkien",
        "year": 1937,
        "genre": "novel",
        "tags": ["fantasy"],
    }
    axe(page, "the record page")


def test_filter_and_sort(console: Console, axe: Any) -> None:
    page = console.page
    console.open("/admin/collections/books/records")
    page.locator("main table tbody tr").first.wait_for()
    # Sorting by clicking a header: ascending, then descending; the URL keeps it.
    page.get_by_role("button", name="Sort by year").click()
    page.wait_for_function("() => location.search.includes('_sort=year')")
    page.wait_for_function("() => document.querySelector('main tbody th')?.innerText === 'emma'")
    page.get_by_role("button", name="Sort by year").click()
    page.wait_for_function("() => location.search.includes('_sort=-year')")
    # The URL changes at once, the table when the API has answered: wait for the table.
    page.wait_for_function(
        "() => ['beloved', 'hobbit'].includes(document.querySelector('main tbody th')?.innerText)"
    )
    ids = record_ids(page)
    assert ids[0] in {"beloved", "hobbit"}  # the newest (hobbit: added by another test)

    # A filter from the builder: genre = poetry.
    page.locator("summary").filter(has_text="Filters").click()
    page.get_by_role("button", name="Add filter").click()
    page.get_by_label("Filter 1: field").fill("genre")
    page.get_by_label("Operator").select_option("eq")
    page.get_by_label("Value").fill("poetry")
    axe(page, "the filter builder")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_function("() => location.search.includes('genre=poetry')")
    console.settle()
    page.wait_for_function("() => document.querySelectorAll('main tbody tr').length === 2")
    assert record_ids(page) == ["ariel", "leaves"]  # still newest first
    assert query_of(page)["_sort"] == ["-year"]
    page.get_by_role("status").filter(has_text="2 records match").wait_for()

    # Quick search on a text field.
    # The active filter's chip removes it (the builder's own rows are only a draft).
    page.get_by_role("button", name=re.compile("^Remove filter genre")).click()
    page.wait_for_function("() => !location.search.includes('genre=')")
    page.get_by_label("Search in field").select_option("author")
    page.get_by_label("Text to search for").fill("Austen")  # the API compares case-sensitively
    page.get_by_role("button", name="Search").click()
    page.wait_for_function("() => document.querySelectorAll('main tbody tr').length === 1")
    assert record_ids(page) == ["emma"]


def test_if_match_conflict(console: Console, live: LiveServer, axe: Any) -> None:
    page = console.page
    console.open("/admin/collections/books/records/walden")
    form = page.get_by_role("form", name="Record walden")
    form.get_by_role("textbox", name="title", exact=True).fill("Walden; or, Life in the Woods")
    # Meanwhile somebody else changes the record through the API.
    answer = live.api(
        "PATCH",
        "/api/v1/collections/books/records/walden",
        {"data": {"year": 1855}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert answer.status == 200, answer
    form.get_by_role("button", name="Save").click()
    page.get_by_text("This record changed since you opened it.").wait_for()
    axe(page, "the conflict")
    stored = live.api("GET", "/api/v1/collections/books/records/walden").json()["data"]
    assert stored["title"] == "Walden"  # nothing overwritten behind the user's back

    page.get_by_role("button", name="Overwrite with my version").click()
    page.get_by_text("This record changed since you opened it.").wait_for(state="detached")
    page.wait_for_function("() => true")
    stored = live.api("GET", "/api/v1/collections/books/records/walden").json()["data"]
    assert stored["title"] == "Walden; or, Life in the Woods"


def test_history_diff_and_restore(console: Console, live: LiveServer, axe: Any) -> None:
    page = console.page
    console.open("/admin/collections/books/records/dune")
    page.get_by_role("tab", name="History").click()
    panel = page.get_by_role("tabpanel", name="History")
    change = panel.get_by_role("listitem").filter(has_text="changed: data.year").first
    change.wait_for()
    assert change.get_by_role("deletion").inner_text() == "1965"
    assert change.get_by_role("insertion").inner_text() == "1966"
    panel.get_by_text('added: data.tags[1] "classic"').wait_for()
    axe(page, "a record's history")

    # Restore the first version (1965, no "classic" tag).
    created = panel.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=re.compile("^create"))
    )
    created.get_by_role("button", name="Restore this version").click()
    dialog = page.get_by_role("dialog")
    if dialog.count():
        dialog.get_by_role("button", name=re.compile("Restore")).click()
    page.get_by_text("Version restored.").wait_for()
    stored = live.api("GET", "/api/v1/collections/books/records/dune").json()["data"]
    assert stored["year"] == 1965
    assert stored["tags"] == ["novel"]

    console.open("/admin/collections/books/history")
    page.get_by_role("heading", name=re.compile("^History of")).wait_for()
    axe(page, "a collection's history")
