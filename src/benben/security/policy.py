"""Benben's Pyramid 2 security policy: bearer credentials, ACLs, and token scopes."""

from __future__ import annotations

from typing import Any

from pyramid.authorization import ACLHelper
from pyramid.interfaces import ISecurityPolicy
from pyramid.request import Request
from pyramid.security import Denied, PermitsResult
from zope.interface import implementer

from benben.errors import ProblemError
from benben.security.identity import Identity, compute_identity
from benben.security.permissions import scopes_allow
from benben.security.principals import EVERYONE

__all__ = ["SecurityPolicy"]

# The outcome (identity or refusal) is kept on the request: computed once, whoever asks first
# (pyramid_tm's user annotation, the rate limiter, a view, permits()...).
_OUTCOME_ATTRIBUTE = "_benben_identity_outcome"


@implementer(ISecurityPolicy)
class SecurityPolicy:
    def __init__(self) -> None:
        self._acl = ACLHelper()

    def identity(self, request: Request) -> Identity | None:
        outcome = request.__dict__.get(_OUTCOME_ATTRIBUTE)
        if outcome is None:
            try:
                outcome = ("identity", compute_identity(request))
            except ProblemError as exc:
                outcome = ("refused", exc)
            request.__dict__[_OUTCOME_ATTRIBUTE] = outcome
        kind, value = outcome
        if kind == "refused":
            raise value
        return value

    @staticmethod
    def share_identity(source: Request, target: Request) -> None:
        """Give ``target`` (a subrequest) the identity already established for ``source``,
        so one credential is verified (and one 401 answered) per HTTP request."""
        source.identity  # noqa: B018 - establishes the outcome
        if _OUTCOME_ATTRIBUTE in source.__dict__:
            target.__dict__[_OUTCOME_ATTRIBUTE] = source.__dict__[_OUTCOME_ATTRIBUTE]

    def authenticated_userid(self, request: Request) -> str | None:
        identity = self.identity(request)
        return identity.user_id if identity is not None else None

    def permits(self, request: Request, context: Any, permission: str) -> PermitsResult:
        identity = self.identity(request)
        principals = identity.principals if identity is not None else frozenset({EVERYONE})
        allowed = self._acl.permits(context, principals, permission)
        if allowed and identity is not None and not scopes_allow(identity.scopes, permission):
            scopes = ", ".join(sorted(identity.scopes or ())) or "none"
            return Denied(
                f"This API token's scopes ({scopes}) do not allow the {permission!r} permission."
            )
        return allowed

    def remember(self, request: Request, userid: Any, **kw: Any) -> list[tuple[str, str]]:
        return []  # bearer tokens are handed out by the login API, not by cookies

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        return []
