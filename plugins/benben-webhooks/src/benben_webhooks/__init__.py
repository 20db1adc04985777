"""Benben's webhooks plugin: events POSTed to subscribers' URLs, signed as Standard Webhooks.

- ``/api/v1/webhooks``: endpoints (subscriptions: a URL, event types, collections), each with
  its signing secret, shown once; ``/api/v1/webhooks/{id}/secret/rotate``, ``/test``,
  ``/redeliver`` and the delivery log ``/api/v1/webhooks/{id}/deliveries``
  (:mod:`.api_endpoints`, :mod:`.api_deliveries`);
- the tables (:mod:`.models`) and their migrations;
- the delivery itself: fan-out from the change feed, sending, retries, SSRF guard (its tasks
  are registered by :mod:`.tasks`);
- the admin console's webhooks page (:mod:`.console_page`).

It uses only ``benben.plugin``, the public plugin API, as any third-party plugin does.
"""

from __future__ import annotations

from benben.plugin import Configurator, PluginMetadata, plugin_settings

from .settings import SETTINGS, SETTINGS_KEY, WebhooksSettings

__all__ = ["benben_plugin", "includeme"]

benben_plugin = PluginMetadata(
    api=1,
    description="Signed webhooks (Standard Webhooks) for the change feed's events.",
    core=">=0.1,<1",
    # The API lives under /api/v1/webhooks with the rest of the API, not under /webhooks.
    route_prefix="",
    settings=SETTINGS,
)


def includeme(config: Configurator) -> None:
    from . import api_deliveries, api_endpoints
    from .models import Attempt, Delivery, Endpoint
    from .tasks import register_delivery

    config.registry[SETTINGS_KEY] = WebhooksSettings.from_settings(plugin_settings(config))
    config.add_migrations("benben_webhooks:migrations")
    # In backups: endpoints (their signing secrets as they are: a restored instance signs as
    # this one did), then deliveries and their attempts (foreign keys' order).
    config.add_backup_participant([Endpoint, Delivery, Attempt])
    for service in (*api_endpoints.SERVICES, *api_deliveries.SERVICES):
        config.add_cornice_service(service)
    register_delivery(config)
    config.include(".console_page")
    config.add_api_capability(
        "webhooks",
        "Signed webhooks (Standard Webhooks) for collections', records' and accounts' events",
        "/api/v1/webhooks",
    )
