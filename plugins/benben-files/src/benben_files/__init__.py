"""Benben's files plugin: attachments on records, on the local disk or S3-compatible storage.

- ``/api/v1/collections/{cid}/records/{rid}/attachments[/{name}]``: upload (multipart or a raw
  body, streamed to storage while hashed and sniffed), list, download (``Range``, ``ETag``,
  safe ``Content-Disposition``, presigned S3 redirects), delete; thumbnails of images
  (:mod:`.api_attachments`, :mod:`.api_downloads`);
- ``/api/v1/collections/{cid}/attachment-policy``: a collection's limits (:mod:`.api_policy`);
- the record's ``attachments`` member: written with the record (:mod:`.attachments`);
- storage backends (:mod:`.storage`), the orphan sweep and thumbnails on the worker
  (:mod:`.tasks`), metrics (:mod:`.metrics`), enumeration for backups (:mod:`.inventory`) and
  its part in ``benben backup`` archives (:mod:`.backup`);
- the admin console's page of attachment policies (:mod:`.console_page`).

It uses only ``benben.plugin``, the public plugin API, as any third-party plugin does.
"""

from __future__ import annotations

from benben.plugin import Configurator, PluginMetadata, plugin_settings

from .settings import SETTINGS, SETTINGS_KEY, FilesSettings

__all__ = ["benben_plugin", "includeme"]

benben_plugin = PluginMetadata(
    api=1,
    description="Attachments on records, on the local disk or S3-compatible storage.",
    core=">=0.1,<1",
    # The API lives under /api/v1/collections with the rest of the data API.
    route_prefix="",
    settings=SETTINGS,
)


def includeme(config: Configurator) -> None:
    config.registry[SETTINGS_KEY] = FilesSettings.from_settings(plugin_settings(config))
    config.add_migrations("benben_files:migrations")
    config.include(".storage")
    config.include(".metrics")
    config.include(".attachments")
    config.include(".api_policy")
    config.include(".api_attachments")
    config.include(".api_downloads")
    config.include(".tasks")
    config.include(".console_page")
    config.include(".backup")
    config.add_api_capability(
        "files",
        "Attachments on records: uploads, downloads with Range, thumbnails, quotas",
        "/api/v1/collections/{cid}/records/{rid}/attachments",
    )
