"""Driving the console like a user: log in, move between pages, switch the theme; and the sample
data the flows and the screenshots start from (arranged through the API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from browser_support import ADMIN, ADMIN_PASSWORD, LiveServer

# The collection the flows and the screenshots use: a schema inside the record form's subset.
BOOKS_SCHEMA = {
    "type": "object",
    "required": ["title", "year"],
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "author": {"type": "string"},
        "year": {"type": "integer", "minimum": 1450, "maximum": 2100},
        "genre": {"type": "string", "enum": ["novel", "essay", "poetry", "science"]},
        "available": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}
BOOKS = [
    ("dune", "Dune", "Frank Herbert", 1965, "novel"),
    ("emma", "Emma", "Jane Austen", 1815, "novel"),
    ("cosmos", "Cosmos", "Carl Sagan", 1980, "science"),
    ("walden", "Walden", "Henry David Thoreau", 1854, "essay"),
    ("leaves", "Leaves of Grass", "Walt Whitman", 1855, "poetry"),
    ("origin", "On the Origin of Species", "Charles Darwin", 1859, "science"),
    ("beloved", "Beloved", "Toni Morrison", 1987, "novel"),
    ("ariel", "Ariel", "Sylvia Plath", 1965, "poetry"),
]


class Console:
    """The console in one browser page (a page object: the flows read as what a user does)."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def login(
        self,
        username: str = ADMIN,
        password: str = ADMIN_PASSWORD,
        *,
        check: Callable[[Any, str], None] | None = None,
    ) -> None:
        """Log in through the login page; ``check`` (the ``axe`` fixture) is run on the login
        page and on the page after it."""
        page = self.page
        if "/admin" not in page.url:
            page.goto("/admin/")
        page.get_by_label("Username or email").wait_for()
        if check:
            check(page, "the login page")
        page.get_by_label("Username or email").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.locator("#logout").wait_for()
        self.settle()
        if check:
            check(page, "the page after logging in")

    def logout(self) -> None:
        self.page.locator("#logout").click()
        self.page.get_by_role("heading", name="Log in to Benben").wait_for()

    def open(self, path: str) -> None:
        """Go to a console path the way its links do (History API: the session stays in memory)."""
        self.page.evaluate(
            """(path) => {
              history.pushState(null, "", path);
              dispatchEvent(new PopStateEvent("popstate"));
            }""",
            path,
        )
        self.settle()

    def settle(self) -> None:
        """Wait until the page has drawn: no loading spinner left in the main element."""
        self.page.wait_for_function(
            "() => document.querySelector('#main') && "
            "!document.querySelector('#main .spinner-border')"
        )

    def theme(self) -> str:
        return self.page.evaluate("() => document.documentElement.dataset.bsTheme")

    def set_theme(self, theme: str) -> None:
        if self.theme() != theme:
            self.page.locator("#theme-toggle").click()
        assert self.theme() == theme


def sample_data(live: LiveServer, *, records: int = 0) -> dict[str, Any]:
    """The books collection with its eight books (plus ``records`` numbered ones), a change in
    one book's history, a user, a group and a token; returns names the callers use."""
    answer = live.api(
        "POST",
        "/api/v1/collections",
        {
            "id": "books",
            "title": "Books",
            "description": "What we read",
            "schema": BOOKS_SCHEMA,
            "indexed_fields": ["year"],
        },
    )
    assert answer.status == 201, answer
    batch = [
        {
            "method": "PUT",
            "path": f"/api/v1/collections/books/records/{rid}",
            "body": {
                "data": {
                    "title": title,
                    "author": author,
                    "year": year,
                    "genre": genre,
                    "available": year > 1900,
                    "tags": [genre],
                }
            },
        }
        for rid, title, author, year, genre in BOOKS
    ]
    batch += [
        {
            "method": "PUT",
            "path": f"/api/v1/collections/books/records/book-{n:03d}",
            "body": {"data": {"title": f"Book {n:03d}", "year": 1900 + n % 120}},
        }
        for n in range(records)
    ]
    for start in range(0, len(batch), 50):
        answer = live.api("POST", "/api/v1/batch", {"requests": batch[start : start + 50]})
        assert answer.status == 200, answer
    answer = live.api(
        "PATCH",
        "/api/v1/collections/books/records/dune",
        {"data": {"year": 1966, "tags": ["novel", "classic"]}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert answer.status == 200, answer
    live.create_user("alice")
    assert live.api("POST", "/api/v1/groups", {"name": "staff"}).status == 201
    assert live.api("POST", "/api/v1/groups/staff/members", {"username": "alice"}).status in {
        200,
        201,
    }
    answer = live.api("POST", "/api/v1/tokens", {"name": "backup script", "scopes": ["read"]})
    assert answer.status == 201, answer
    return {"collection": "books", "title": "Books", "record": "dune", "user": "alice"}
