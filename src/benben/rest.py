"""REST services: Cornice's ``Service`` with Benben's problem+json validation errors."""

from __future__ import annotations

from typing import Any

import cornice
from pyramid.request import Request
from pyramid.response import Response

from benben.errors import cornice_error_handler

__all__ = ["Service"]


class Service(cornice.Service):
    """A Cornice service whose validation failures answer ``application/problem+json``."""

    def default_error_handler(self, request: Request) -> Response:
        return cornice_error_handler(request)

    def __init__(self, name: str, path: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, path=path, **kwargs)
