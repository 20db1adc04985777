"""The files page of the admin console (``/admin/plugins/files``: the collections' attachment
policies): the ES modules under ``static/``, served with ``add_static_assets`` (a URL carrying
their digest, cached a year) and listed with ``add_admin_page``.  Without the console plugin the
page is listed by nobody.
"""

from __future__ import annotations

from benben.plugin import Configurator

__all__ = ["ASSETS", "includeme"]

ASSETS = "files-ui"


def includeme(config: Configurator) -> None:
    base = config.add_static_assets(ASSETS, "benben_files:static")
    config.add_admin_page("files", "Files", f"{base}/page.js", icon="bi-paperclip", order=30)
