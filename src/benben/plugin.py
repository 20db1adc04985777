"""The public API for plugin authors: the only Benben module a plugin needs to import.

A plugin is a distribution with an entry point in the ``benben.plugins`` group naming a module
(or callable) that Pyramid can ``config.include``.  Optionally the module declares metadata::

    from benben.plugin import PluginMetadata, Setting, as_int

    benben_plugin = PluginMetadata(
        requires=["other_plugin"],
        core=">=0.1,<1",
        settings=[Setting("benben.myplugin.page_size", as_int(1, 500), 50, "Items per page.")],
    )

    def includeme(config):
        settings = plugin_settings(config)   # {"page_size": 50}
        config.add_route("things", "/things")          # served under /myplugin/things
        config.add_migrations("myplugin:migrations")    # own version table
        config.add_health_check("myplugin-upstream", check_upstream)
        config.add_api_capability("things", "Things from upstream")

Directives added to the Configurator by Benben (core uses them too):

- ``config.add_health_check(name, check)``: ``check(request)`` raises (or returns a message) when
  down; ``/health/ready`` runs it with a timeout.
- ``config.add_migrations(location)``: an asset spec of a directory of Alembic revisions; they get
  this plugin's own version table and run after core and after the plugins this one requires.
- ``config.add_api_capability(name, description, url=None)``: listed by ``GET /api/v1/``.

Rules the loader enforces (each breach stops start-up with a ConfigurationError naming the plugin):

- Core is committed first and cannot be replaced: registering one of core's route names, views,
  health checks, capabilities, request methods... is refused.
- Two plugins registering the same thing fail with a ConfigurationConflictError
  (:class:`benben.plugins.PluginConflictError`) that names both.
- ``includeme`` must not call ``config.commit()``: Benben commits all plugins together, after
  the checks above could run.
- The entry point names a module with ``includeme(config)`` or a callable taking ``config``;
  ``benben_plugin``, when present, is a :class:`PluginMetadata` whose ``requires`` is a list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request

from benben.cache.service import ICacheService
from benben.db.meta import Base
from benben.errors import problem_response
from benben.plugins.metadata import PluginInfo, PluginMetadata
from benben.rest import Service
from benben.settings import Setting, as_bool, as_choice, as_float, as_int, as_list, as_str

__all__ = [
    "Base",
    "ConfigurationError",
    "Configurator",
    "HealthCheck",
    "ICacheService",
    "PluginInfo",
    "PluginMetadata",
    "Request",
    "Service",
    "Setting",
    "as_bool",
    "as_choice",
    "as_float",
    "as_int",
    "as_list",
    "as_str",
    "current_plugin",
    "plugin_settings",
    "problem_response",
]

HealthCheck = Callable[[Request], str | None]


def current_plugin(config: Configurator) -> PluginInfo:
    """The plugin whose ``includeme`` is running; ConfigurationError outside of one."""
    stack = config.registry.get("benben.plugin_stack") or []
    if not stack:
        raise ConfigurationError("current_plugin() called outside of a Benben plugin's includeme")
    return stack[-1]


def plugin_settings(config: Configurator) -> Mapping[str, Any]:
    """This plugin's settings, ``benben.<plugin>.`` stripped from their names.

    A plugin reads only its own namespace: this is how it does.
    """
    prefix = current_plugin(config).namespace
    settings = config.get_settings()
    return {key[len(prefix) :]: value for key, value in settings.items() if key.startswith(prefix)}
