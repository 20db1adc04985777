"""What the accounts views share: pagination parameters, refusals as problems (bodies are
checked against their schemas, :mod:`.schemas`, before the views run)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from pyramid.request import Request
from pyramid.response import Response

from benben.accounts.validation import AccountsError, FieldErrors
from benben.errors import problem_response

__all__ = ["Page", "accounts_error_view", "page_links", "pagination"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# Cursors are the last name of the previous page (names are at most 64 characters).
MAX_CURSOR_LENGTH = 64


def accounts_error_view(exc: AccountsError, request: Request) -> Response:
    """A refused account operation as ``application/problem+json`` (the transaction aborts)."""
    return problem_response(
        request,
        exc.status,
        title=exc.title,
        type=exc.type,
        detail=exc.detail,
        errors=exc.errors or None,
    )


@dataclass(frozen=True)
class Page:
    limit: int
    cursor: str | None
    prefix: str | None


def pagination(request: Request, extra: Iterable[str] = ()) -> Page:
    """``?limit`` (1..1000, default 100), ``?cursor`` (from ``next_cursor``), ``?q`` (prefix).

    Unknown parameters are refused rather than ignored: a misspelt filter must not quietly list
    everything.
    """
    errors = FieldErrors("querystring")
    accepted = {"limit", "cursor", "q", *extra}
    for name in request.GET:
        if name not in accepted:
            errors.add(name, f"unknown parameter; accepted: {', '.join(sorted(accepted))}")
    for name in accepted:
        if len(request.GET.getall(name)) > 1:
            errors.add(name, "must be given at most once")
    limit = DEFAULT_LIMIT
    raw_limit = request.GET.get("limit")
    if raw_limit is not None:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            errors.add("limit", f"must be an integer from 1 to {MAX_LIMIT}")
        else:
            limit = int(raw_limit)
    cursor = request.GET.get("cursor") or None
    if cursor is not None and len(cursor) > MAX_CURSOR_LENGTH:
        errors.add("cursor", "is not a cursor this API returned")
    prefix = request.GET.get("q") or None
    if prefix is not None and len(prefix) > MAX_CURSOR_LENGTH:
        errors.add("q", f"must be at most {MAX_CURSOR_LENGTH} characters long")
    errors.raise_if_any()
    return Page(limit=limit, cursor=cursor.lower() if cursor else None, prefix=prefix)


def page_links(request: Request, page: Page, last_name: str | None, more: bool) -> dict[str, Any]:
    """``next_cursor`` and ``next`` (the URL of the next page) of a list response; the ``next``
    URL also goes into a ``Link: <...>; rel="next"`` header."""
    if not more or last_name is None:
        return {"next_cursor": None, "next": None}
    query = {"limit": page.limit, "cursor": last_name}
    if page.prefix:
        query["q"] = page.prefix
    url = f"{request.path_url}?{urlencode(query)}"
    request.response.headers["Link"] = f'<{url}>; rel="next"'
    return {"next_cursor": last_name, "next": url}
