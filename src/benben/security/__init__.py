"""Security: authentication and authorization.  The server secret, identity (who calls), the
security policy (what they may do), tokens, passwords, principals and permissions.  Rate limits
are :mod:`benben.ratelimit`; CORS, security headers, proxies and body limits
:mod:`benben.hardening`.

Public helpers for other packages::

    from benben.security import (
        check_password_policy, get_password_hasher, invalidate_principals,
    )
"""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPForbidden
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import Denied

from benben.errors import problem_response
from benben.security.identity import Identity
from benben.security.jwt import get_token_codec
from benben.security.passwords import (
    PasswordHasher,
    check_password_policy,
    get_password_hasher,
)
from benben.security.policy import SecurityPolicy
from benben.security.principals import invalidate_principals
from benben.security.resources import Root

__all__ = [
    "Identity",
    "PasswordHasher",
    "SecurityPolicy",
    "check_password_policy",
    "get_password_hasher",
    "invalidate_principals",
]


def forbidden_view(exc: HTTPForbidden, request: Request) -> Response:
    """Pyramid denies a permission with 403; without a credential the honest answer is 401 (log
    in first).  A 403 a view raises itself (no permission check behind it) stays a 403."""
    denied_by_policy = getattr(exc, "result", None) is not None
    if denied_by_policy and request.identity is None:
        return problem_response(
            request,
            401,
            title="Authentication required",
            detail="This needs a credential: 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": 'Bearer realm="benben"'},
        )
    result = getattr(exc, "result", None)
    # A scope refusal says which permission the token lacks; an ACL denial names nothing (its
    # message lists ACL internals).
    detail = str(result) if type(result) is Denied else "You are not allowed to do this."
    return problem_response(request, 403, detail=detail)


def _request_user(request: Request) -> object | None:
    """The caller's User row (loaded on first use), or None when anonymous."""
    identity = request.identity
    if identity is None:
        return None
    from benben.accounts.models import User

    return request.dbsession.get(User, identity.user_id)


def includeme(config: Configurator) -> None:
    registry = config.registry
    # Built now so that a bad key file or cost setting fails at start-up, naming the setting.
    get_token_codec(registry)
    get_password_hasher(registry)
    config.set_security_policy(SecurityPolicy())
    from benben.cache import version_board
    from benben.cache.process_cache import ProcessCache
    from benben.observability.metrics import get_metrics
    from benben.security.identity import FACTS_MAX_AGE, IDENTITY_CACHE_KEY

    # Verified access tokens, so that a hot request neither decodes nor looks anything up.
    identities = ProcessCache(
        config.get_settings()["benben.cache.max_items"], max_age=FACTS_MAX_AGE
    )
    registry[IDENTITY_CACHE_KEY] = identities
    version_board(registry).on_forget(identities.clear)
    get_metrics(registry).watch_process_cache("identity", identities)
    config.include("benben.security.epoch")
    config.set_root_factory(Root)
    config.add_forbidden_view(forbidden_view)
    config.add_request_method(_request_user, "user", reify=True)
