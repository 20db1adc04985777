"""Accounts: users, groups, memberships, and the first administrator.

REST (Cornice, under ACLs): ``/api/v1/users``, ``/api/v1/users/{id}``, ``/api/v1/groups``,
``/api/v1/groups/{id}``, ``/api/v1/groups/{id}/members`` and
``/api/v1/groups/{id}/members/{user_id}`` (see :mod:`.views`, :mod:`.group_views`,
:mod:`.resources`).  Command line: ``benben users`` (:mod:`benben.cli.users`).  First
administrator at start-up: :mod:`.bootstrap`.
"""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.interfaces import IApplicationCreated

from benben.accounts.validation import AccountsError

__all__ = ["RATELIMIT_GROUP", "AccountsError", "includeme"]

RATELIMIT_GROUP = "accounts"


def includeme(config: Configurator) -> None:
    from benben.accounts import group_views, views
    from benben.accounts.bootstrap import on_application_created
    from benben.accounts.http import accounts_error_view

    config.add_exception_view(accounts_error_view, context=AccountsError)
    # The app is created after the embedded default's migrations (make_wsgi_app, and
    # benben.testing's make_app): the first administrator's table exists by then.
    config.add_subscriber(on_application_created, IApplicationCreated)
    config.add_api_capability("users", "User accounts and the admin role", "/api/v1/users")
    config.add_api_capability("groups", "Groups and their members", "/api/v1/groups")
    for service in (
        views.users,
        views.user_item,
        group_views.groups,
        group_views.group_item,
        group_views.group_members,
        group_views.group_member,
    ):
        config.add_cornice_service(service)
        # Operators may give account management its own limit: benben.ratelimit.groups =
        # accounts=60/minute (without it, the default limit applies).
        config.set_ratelimit_group(service.name, RATELIMIT_GROUP)
