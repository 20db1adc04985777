"""Authentication endpoints: login, refresh, logout, me, personal API tokens, JWKS.

Public helpers for other packages::

    from benben.auth import end_other_sessions, issue_token_pair
"""

from __future__ import annotations

from pyramid.config import Configurator

from benben.security.jwt import get_token_codec
from benben.security.permissions import ADMIN, READ
from benben.security.resources import OwnTokens, Self

from .services import end_other_sessions, issue_token_pair

__all__ = ["end_other_sessions", "issue_token_pair"]

# Rate-limit group of every authentication route (benben.ratelimit.groups: auth=...).
RATELIMIT_GROUP = "auth"


def includeme(config: Configurator) -> None:
    from . import api_tokens, views

    routes = [
        ("api.auth.login", "/api/v1/auth/login", None),
        ("api.auth.refresh", "/api/v1/auth/refresh", None),
        ("api.auth.logout", "/api/v1/auth/logout", Self),
        ("api.auth.me", "/api/v1/auth/me", Self),
    ]
    for name, pattern, factory in routes:
        config.add_route(name, pattern, factory=factory)
    # Credential-handling routes share the stricter "auth" limit; me and tokens are ordinary.
    for name in ("api.auth.login", "api.auth.refresh", "api.auth.logout"):
        config.set_ratelimit_group(name, RATELIMIT_GROUP)
    view = config.add_view
    view(views.login_view, route_name="api.auth.login", request_method="POST", renderer="json")
    view(views.refresh_view, route_name="api.auth.refresh", request_method="POST", renderer="json")
    view(views.logout_view, route_name="api.auth.logout", request_method="POST", permission=READ)
    view(views.me_view, route_name="api.auth.me", request_method="GET", renderer="json",
         permission=READ)  # fmt: skip

    config.add_route("api.tokens", "/api/v1/tokens", factory=OwnTokens)
    config.add_route("api.tokens.item", "/api/v1/tokens/{id}", factory=OwnTokens)
    view(api_tokens.list_tokens_view, route_name="api.tokens", request_method="GET",
         renderer="json", permission=READ)  # fmt: skip
    view(api_tokens.create_token_view, route_name="api.tokens", request_method="POST",
         renderer="json", permission=ADMIN)  # fmt: skip
    view(api_tokens.get_token_view, route_name="api.tokens.item", request_method="GET",
         renderer="json", permission=READ)  # fmt: skip
    view(api_tokens.revoke_token_view, route_name="api.tokens.item", request_method="DELETE",
         permission=ADMIN)  # fmt: skip

    config.add_api_capability(
        "auth", "Password login issuing JWT access and refresh tokens", "/api/v1/auth/login"
    )
    config.add_api_capability(
        "tokens", "Personal API tokens with read/write/admin scopes", "/api/v1/tokens"
    )
    if get_token_codec(config.registry).jwks() is not None:
        # Only asymmetric keys have a public half to publish; with HS256 the route is absent.
        config.add_route("jwks", "/.well-known/jwks.json")
        view(views.jwks_view, route_name="jwks", request_method="GET", renderer="json")
