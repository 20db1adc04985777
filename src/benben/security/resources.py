"""Context factories for the security core's own routes, and the default root.

Every ``__acl__`` here ends with what admins may do; anything not granted is denied.
"""

from __future__ import annotations

from typing import Any

from pyramid.authorization import Allow
from pyramid.request import Request

from benben.security.permissions import ADMIN, ALL_PERMISSIONS, CREATE, READ, WRITE
from benben.security.principals import ADMIN_ROLE, AUTHENTICATED

__all__ = ["OwnTokens", "Root", "Self"]


class Root:
    """The default context: admins may do anything; other routes declare their own factory."""

    __acl__: list[tuple[str, str, Any]] = [(Allow, ADMIN_ROLE, ALL_PERMISSIONS)]

    def __init__(self, request: Request) -> None:
        self.request = request


class Self:
    """The caller's own account (``/api/v1/auth/me``, logout): any authenticated caller."""

    __acl__: list[tuple[str, str, Any]] = [(Allow, AUTHENTICATED, (READ, WRITE))]

    def __init__(self, request: Request) -> None:
        self.request = request


class OwnTokens:
    """The caller's API tokens (``/api/v1/tokens``).

    Listing needs READ. Creating or revoking tokens needs ADMIN: a session from logging in has
    it, and so has an API token with the ``admin`` scope, but a ``read`` or ``write`` token cannot
    mint itself new credentials or revoke its owner's.
    """

    __acl__: list[tuple[str, str, Any]] = [(Allow, AUTHENTICATED, (READ, CREATE, WRITE, ADMIN))]

    def __init__(self, request: Request) -> None:
        self.request = request
