"""What the accounts views share: refusals as problems (bodies are checked against their
schemas, :mod:`.schemas`, before the views run; lists are in :mod:`.lists`)."""

from __future__ import annotations

from pyramid.request import Request
from pyramid.response import Response

from benben.accounts.validation import AccountsError
from benben.errors import problem_response

__all__ = ["accounts_error_view"]


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
