"""The records page's tools in a real browser: the column chooser (kept in the URL), selecting
rows and deleting them in bulk, and exporting the whole query as JSON and CSV (every page, not
only the one shown; CSV cells a spreadsheet would run as formulas kept as text). axe-core checks
every page shown; console errors and CSP violations fail a test (conftest)."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_support import LiveServer
from console_support import Console, sample_data

pytestmark = pytest.mark.slow

# A book whose title a spreadsheet would evaluate, and an author holding a comma.
FORMULA = {"title": "=1+2", "author": "Doe, Jane", "year": 2000}
# The schema's first six properties: the columns shown by default, between the id and the time.
DEFAULT_COLUMNS = ["title", "author", "year", "genre", "available", "tags"]


@pytest.fixture(scope="module")
def data(live: LiveServer) -> dict[str, Any]:
    names = sample_data(live, records=30)
    answer = live.api("PUT", "/api/v1/collections/books/records/formula", {"data": FORMULA})
    assert answer.status == 201, answer
    return names


@pytest.fixture
def console(page: Any, axe: Any, data: dict[str, Any]) -> Console:
    console = Console(page)
    console.login(check=axe)
    return console


def wait_headers(page: Any, expected: list[str]) -> None:
    """Wait for the table's columns (the table is redrawn when the records' query answers, after
    the URL changed)."""
    page.wait_for_function(
        """(expected) => JSON.stringify(
             [...document.querySelectorAll('main table thead th[data-field]')]
               .map((th) => th.dataset.field)) === JSON.stringify(expected)""",
        arg=expected,
    )


def test_column_chooser(console: Console, axe: Any) -> None:
    page = console.page
    console.open("/admin/collections/books/records")
    page.locator("main table tbody tr").first.wait_for()
    wait_headers(page, ["id", *DEFAULT_COLUMNS, "last_modified"])
    chooser = page.locator("details.bb-columns")
    chooser.locator("summary").click()
    chooser.get_by_role("checkbox", name="author", exact=True).uncheck()
    chooser.get_by_role("checkbox", name="tags", exact=True).uncheck()
    axe(page, "the column chooser")
    chooser.get_by_role("button", name="Apply").click()
    page.wait_for_function("() => location.search.includes('_fields=')")
    console.settle()
    fields = parse_qs(urlsplit(page.url).query)["_fields"]
    assert fields == ["title,year,genre,available"]
    wait_headers(page, ["id", "title", "year", "genre", "available", "last_modified"])

    # The URL is the state: a reload shows the same columns.
    page.reload()
    page.locator("#logout").wait_for()
    console.settle()
    wait_headers(page, ["id", "title", "year", "genre", "available", "last_modified"])

    # Shown again, in the schema's order; "Default columns" drops _fields altogether.
    chooser.locator("summary").click()
    chooser.get_by_role("checkbox", name="author", exact=True).check()
    chooser.get_by_role("button", name="Apply").click()
    page.wait_for_function("() => location.search.includes('title%2Cauthor')")
    console.settle()
    wait_headers(page, ["id", "title", "author", "year", "genre", "available", "last_modified"])
    chooser.locator("summary").click()
    chooser.get_by_role("button", name="Default columns").click()
    page.wait_for_function("() => !location.search.includes('_fields')")
    console.settle()
    wait_headers(page, ["id", *DEFAULT_COLUMNS, "last_modified"])


def test_bulk_delete(console: Console, live: LiveServer, axe: Any) -> None:
    page = console.page
    answer = live.api("POST", "/api/v1/collections", {"id": "scratch", "title": "Scratch"})
    assert answer.status == 201, answer
    ids = [f"r-{n}" for n in range(1, 6)]
    for n, rid in enumerate(ids):
        answer = live.api("PUT", f"/api/v1/collections/scratch/records/{rid}", {"data": {"n": n}})
        assert answer.status == 201, answer

    console.open("/admin/collections/scratch/records?_sort=id")
    page.locator("main table tbody tr").nth(4).wait_for()
    delete = page.get_by_role("button", name=re.compile(r"^Delete selected"))
    assert delete.is_disabled()
    page.get_by_role("checkbox", name="Select r-2").check()
    page.get_by_role("checkbox", name="Select r-4").check()
    page.get_by_role("button", name="Delete selected (2)").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Delete 2 records?").wait_for()
    axe(page, "the bulk delete confirmation")
    dialog.get_by_role("button", name="Delete").click()
    page.get_by_text("2 records deleted.").wait_for()
    page.wait_for_function("() => document.querySelectorAll('main tbody tr').length === 3")
    for rid in ids:
        status = live.api("GET", f"/api/v1/collections/scratch/records/{rid}").status
        assert status == (404 if rid in {"r-2", "r-4"} else 200), rid

    # "Select every record of this page", and cancelling deletes nothing.
    page.get_by_role("checkbox", name="Select every record of this page").check()
    page.get_by_role("button", name="Delete selected (3)").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    assert live.api("GET", "/api/v1/collections/scratch/records").json()["data"]
    page.get_by_role("button", name="Delete selected (3)").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    page.get_by_text("No record yet.").wait_for()
    axe(page, "the emptied records page")
    assert live.api("GET", "/api/v1/collections/scratch/records").json()["data"] == []


QUERY = "year__ge=1900&_sort=id"


def expected_records(live: LiveServer) -> list[dict[str, Any]]:
    answer = live.api("GET", f"/api/v1/collections/books/records?{QUERY}&_limit=1000")
    assert answer.status == 200, answer
    return answer.json()["data"]


def test_export_json(console: Console, live: LiveServer, axe: Any) -> None:
    page = console.page
    console.open(f"/admin/collections/books/records?{QUERY}&_limit=25")
    page.locator("main table tbody tr").nth(24).wait_for()
    axe(page, "the records page with its export buttons")
    with page.expect_download() as info:
        page.get_by_role("button", name="Export JSON").click()
    download = info.value
    assert re.fullmatch(r"books-[0-9T-]+\.json", download.suggested_filename)
    exported = json.loads(download.path().read_text("utf-8"))
    expected = expected_records(live)
    # Every record of the query (more than the page shows), as the API gives them.
    assert len(expected) > 25
    assert exported == expected
    page.get_by_role("status").filter(has_text=f"Exported {len(expected)} records.").wait_for()


def test_export_csv(console: Console, live: LiveServer) -> None:
    page = console.page
    console.open(f"/admin/collections/books/records?{QUERY}&_fields=title,author,year&_limit=25")
    page.locator("main table tbody tr").nth(24).wait_for()
    with page.expect_download() as info:
        page.get_by_role("button", name="Export CSV").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    text = download.path().read_bytes().decode("utf-8")
    # The formula-looking title is text for a spreadsheet; the comma quotes the author.
    assert 'formula,\'=1+2,"Doe, Jane",2000,' in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["id", "title", "author", "year", "last_modified"]
    expected = expected_records(live)
    assert [row[0] for row in rows[1:]] == [r["id"] for r in expected]
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id["formula"][1:4] == ["'=1+2", "Doe, Jane", "2000"]
    assert by_id["beloved"][1:4] == ["Beloved", "Toni Morrison", "1987"]
    # A book without an author: an empty cell.
    assert by_id["book-000"][1:4] == ["Book 000", "", "1900"]
