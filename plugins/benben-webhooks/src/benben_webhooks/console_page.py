"""The webhooks page of the admin console (``/admin/plugins/webhooks``): the ES modules under
``static/``, served with ``add_static_assets`` (a URL carrying their digest, cached a year) and
listed with ``add_admin_page``.  Without the console plugin the page is listed by nobody.
"""

from __future__ import annotations

from benben.plugin import Configurator

__all__ = ["ASSETS", "includeme"]

ASSETS = "webhooks-ui"


def includeme(config: Configurator) -> None:
    base = config.add_static_assets(ASSETS, "benben_webhooks:static")
    config.add_admin_page("webhooks", "Webhooks", f"{base}/page.js", icon="bi-broadcast", order=20)
