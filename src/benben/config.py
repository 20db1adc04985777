"""The one composition function: settings, then core's includes in order, then plugins."""

from __future__ import annotations

import importlib.metadata
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from benben.core_settings import CORE_SETTINGS
from benben.plugins import (
    discover_plugins,
    include_plugins,
    order_plugins,
    record_core_discriminators,
    record_installed,
    select_plugins,
)
from benben.plugins.metadata import PluginInfo
from benben.router import Router, make_router
from benben.security.secret import ensure_secret
from benben.settings import ResolvedSettings, resolve_settings
from benben.version import __version__

log = logging.getLogger(__name__)

_SETTINGS_KEY = "benben.settings"


def resolved_settings(registry: Any) -> ResolvedSettings:
    """The app's settings as resolved at start-up: values, where each came from, unknown keys."""
    return registry[_SETTINGS_KEY]


def core(config: Configurator) -> None:
    """Core's own registrations, inside an include so that plugins cannot silently replace them."""
    config.include("pyramid_services")
    # Cornice's own exception views would bypass problem+json; benben.errors handles every error.
    config.registry.settings["handle_exceptions"] = False
    config.include("cornice")
    config.include("benben.deprecation")  # the view option deprecated= (before any view)
    config.include("benben.errors")
    config.include("benben.observability")  # add_health_check, request ids, access log
    config.include("benben.db")
    config.include("benben.cache")
    config.include("benben.events")  # the change feed, add_event_listener
    config.include("benben.worker")  # add_task, add_periodic_task: Celery, from benben.worker.*
    config.include("benben.api")  # add_api_capability, /api/v1/, /version
    config.include("benben.security")  # identity, the policy, tokens, passwords
    config.include("benben.ratelimit")  # set_ratelimit_group, the tween, login throttling
    config.include("benben.hardening")  # CORS, security headers, proxies, body limit, params
    config.include("benben.accounts")
    config.include("benben.auth")
    config.include("benben.data")  # collections, records, history
    config.include("benben.realtime")  # change streams (SSE) over the feed
    config.include("benben.backup")  # add_backup_participant: what archives hold
    config.include("benben.landing")  # GET /: links to the docs for a browser
    config.include("benben.client")  # GET /client/benben.js: the JavaScript client
    config.include("benben.admin_pages")  # add_admin_page: plugins' pages in the console
    config.include("benben.static_assets")  # add_static_assets: digest-versioned fixed files
    config.include("benben.plugins.views")  # GET /api/v1/plugins: what each plugin registered
    config.include("benben.openapi")  # last: documents what the others registered


def configure(
    settings: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
) -> Configurator:
    """Resolve settings, configure and commit core, then include and commit the plugins."""
    environ = os.environ if environ is None else environ
    plugins = discover_plugins(entry_points)
    resolved, enabled = load_settings(settings or {}, environ, plugins)

    config = Configurator(settings=resolved.as_pyramid_settings())
    config.registry[_SETTINGS_KEY] = resolved
    record_installed(config.registry, plugins)
    config.include(core)
    record_core_discriminators(config)
    config.commit()
    include_plugins(config, enabled, environ)
    for key in resolved.unknown:
        log.warning("unknown setting %s is ignored (see `benben config`)", key)
    return config


def load_settings(
    raw: Mapping[str, Any], environ: Mapping[str, str], plugins: list[PluginInfo]
) -> tuple[ResolvedSettings, list[PluginInfo]]:
    """Settings for core and every enabled plugin, and the enabled plugins in include order."""
    namespaces = [p.namespace for p in plugins]
    core_only = resolve_settings(raw, environ, CORE_SETTINGS, open_namespaces=namespaces)
    selected = select_plugins(
        plugins, core_only.values["benben.plugins"], core_only.values["benben.plugins.disabled"]
    )
    enabled = order_plugins(selected, plugins, __version__)
    definitions = list(CORE_SETTINGS)
    for plugin in enabled:
        definitions.extend(plugin.metadata.settings)
    # Namespaces of plugins that declare no settings, or are disabled, accept any key.
    open_namespaces = [
        p.namespace for p in plugins if p.status != "enabled" or not p.metadata.settings
    ]
    resolved = resolve_settings(raw, environ, definitions, open_namespaces=open_namespaces)
    # Resolved once, here: every later use (database, secret, banner, benben config) names the
    # same directory, whatever the working directory is by then.
    data_dir = resolved.values["benben.data_dir"]
    resolved.values["benben.data_dir"] = os.path.abspath(os.path.expanduser(data_dir))
    ensure_secret(resolved.values, resolved.sources)
    if resolved.values["benben.environment"] == "production":
        _check_production(resolved)
    return resolved, enabled


def _check_production(resolved: ResolvedSettings) -> None:
    if not resolved.values["benben.database.url"]:
        raise ConfigurationError(
            "benben.database.url is required in production (set BENBEN_DATABASE_URL)"
        )


def make_wsgi_app(
    settings: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    setup_logging: bool = False,
) -> Router:
    """The WSGI app; on the embedded default it first brings the database schema up to date."""
    if setup_logging:
        from benben.observability.logs import setup_logging as configure_logging

        # Before configure(): its own warnings (unknown settings...) must leave in the
        # configured format. Only core's logging settings are needed for that.
        configure_logging(resolve_settings(settings or {}, environ, CORE_SETTINGS).values)
    config = configure(settings, environ=environ)
    registry = config.registry
    if should_auto_migrate(registry.settings):
        from benben.db import get_engine, migration_sources
        from benben.db.migrations import upgrade

        upgrade(get_engine(registry), migration_sources(registry))
    return make_router(config)


def should_auto_migrate(settings: Mapping[str, Any]) -> bool:
    from benben.db import database_url

    choice = settings["benben.database.auto_migrate"]
    if choice == "auto":
        return database_url(settings).get_backend_name() == "sqlite"
    return choice == "true"
