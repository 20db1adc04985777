"""Benben's web console: ``/admin/``, a first-party plugin built on the public plugin API alone.

- :mod:`.shell`: the HTML shell for every ``/admin/...`` path, its boot data, and the versioned
  static assets (Bootstrap and bootstrap-icons vendored, the console's own ES modules);
- :mod:`.session_api`: ``/admin/session`` login, refresh and logout, the refresh token in an
  ``HttpOnly`` cookie;
- the pages other plugins add with ``config.add_admin_page(...)`` (core's directive), listed in
  the navigation from ``admin_pages(registry)``.

The console itself is a client of the API: everything it shows or changes goes through
``/api/v1`` with the logged-in user's permissions.
"""

from __future__ import annotations

from benben.plugin import Configurator, PluginMetadata, Setting, as_bool, plugin_settings

from .session_api import SECURE_COOKIE_KEY

__all__ = ["benben_plugin", "includeme"]

benben_plugin = PluginMetadata(
    api=1,
    description="The web console: data, accounts, tokens and plugins' pages at /admin/.",
    core=">=0.1,<1",
    # Its routes are /admin/..., not /console/...
    route_prefix="",
    settings=[
        Setting(
            "benben.console.secure_cookie",
            as_bool,
            True,
            "Mark the console's session cookie Secure (sent over HTTPS only; browsers also"
            " accept it on http://localhost). Turn off only to try the console over plain HTTP"
            " on another host.",
        ),
    ],
)


def includeme(config: Configurator) -> None:
    config.registry[SECURE_COOKIE_KEY] = plugin_settings(config)["secure_cookie"]
    config.include(".shell")
    config.include(".session_api")
