"""Authentication endpoints: login, refresh, logout, me, personal API tokens, JWKS.

Public helper for other packages::

    from benben.auth import issue_token_pair

Ending sessions is :mod:`benben.security.sessions`.
"""

from __future__ import annotations

from pyramid.config import Configurator

from benben.security.jwt import get_token_codec

from .services import issue_token_pair

__all__ = ["issue_token_pair"]

# Rate-limit group of every authentication route (benben.ratelimit.groups: auth=...).
RATELIMIT_GROUP = "auth"


def includeme(config: Configurator) -> None:
    from . import api_tokens, setup, views

    for service in (views.login, views.refresh, views.logout, views.me, setup.setup):
        config.add_cornice_service(service)
    # Credential-handling routes share the stricter "auth" limit; me and tokens are ordinary.
    for service in (views.login, views.refresh, views.logout, setup.setup):
        config.set_ratelimit_group(service.name, RATELIMIT_GROUP)
    config.add_cornice_service(api_tokens.tokens)
    config.add_cornice_service(api_tokens.token_item)

    config.add_api_capability(
        "auth", "Password login issuing JWT access and refresh tokens", "/api/v1/auth/login"
    )
    config.add_api_capability(
        "tokens", "Personal API tokens with read/write/admin scopes", "/api/v1/tokens"
    )
    if get_token_codec(config.registry).jwks() is not None:
        # Only asymmetric keys have a public half to publish; with HS256 the route is absent.
        config.add_cornice_service(views.jwks)
