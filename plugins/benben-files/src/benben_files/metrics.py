"""The files plugin's Prometheus metrics, in the app's registry (what ``/metrics`` serves):

- ``benben_files_uploads_total{outcome}``: uploads by outcome (``stored``, ``deduplicated``,
  ``refused_size``, ``refused_quota``, ``refused_type``, ``failed``);
- ``benben_files_uploaded_bytes_total``: bytes of accepted uploads (stored or deduplicated);
- ``benben_files_downloads_total``, ``benben_files_downloaded_bytes_total``: downloads served
  (a presigned redirect counts as a download of no bytes through Benben);
- ``benben_files_failures_total{operation}``: ``upload``, ``download``, ``storage``,
  ``thumbnail``, ``sweep``;
- ``benben_files_thumbnails_total{outcome}``: thumbnails ``generated``, ``failed``,
  ``refused`` (too many pixels), ``skipped`` (not an image, already there);
- ``benben_files_orphans_removed_total``, ``benben_files_orphans_removed_bytes_total``: objects
  the sweep and the cleanup after deletes removed;
- ``benben_files_stored_bytes``: bytes of the blobs stored, refreshed by each sweep (a gauge;
  under several processes the most recent value).

Other modules count through :func:`get_metrics` and never import prometheus_client.  With
``benben.metrics.enabled = off`` the metrics exist unregistered: counting them is free.
"""

from __future__ import annotations

from typing import Any

from benben.plugin import Configurator, Registry, metrics_registry

__all__ = ["FilesMetrics", "get_metrics"]

_KEY = "benben_files.metrics"


class FilesMetrics:
    """What the plugin counts; made once per app by :func:`includeme`."""

    def __init__(self, registry: Registry) -> None:
        # Imported here, not at module level: prometheus_client must not be imported before
        # `benben serve --workers` names its multiprocess directory.
        from prometheus_client import Counter, Gauge

        target: Any = metrics_registry(registry)
        self._uploads = Counter(
            "benben_files_uploads",
            "Attachment uploads, by outcome (stored, deduplicated, refused_size, "
            "refused_quota, refused_type, failed).",
            ("outcome",),
            registry=target,
        )
        self._uploaded_bytes = Counter(
            "benben_files_uploaded_bytes",
            "Bytes of accepted attachment uploads (stored or deduplicated).",
            registry=target,
        )
        self._downloads = Counter(
            "benben_files_downloads", "Attachment and thumbnail downloads.", registry=target
        )
        self._downloaded_bytes = Counter(
            "benben_files_downloaded_bytes",
            "Bytes of attachments and thumbnails sent by Benben.",
            registry=target,
        )
        self._failures = Counter(
            "benben_files_failures",
            "Failed file operations, by operation (upload, download, storage, thumbnail, sweep).",
            ("operation",),
            registry=target,
        )
        self._thumbnails = Counter(
            "benben_files_thumbnails",
            "Thumbnail generations, by outcome (generated, failed, refused, skipped).",
            ("outcome",),
            registry=target,
        )
        self._orphans = Counter(
            "benben_files_orphans_removed",
            "Stored objects removed because nothing references them any more.",
            registry=target,
        )
        self._orphan_bytes = Counter(
            "benben_files_orphans_removed_bytes",
            "Bytes of the stored objects removed because nothing references them any more.",
            registry=target,
        )
        self._stored = Gauge(
            "benben_files_stored_bytes",
            "Bytes of attachment contents stored (each content once), as of the last sweep.",
            registry=target,
            multiprocess_mode="mostrecent",
        )

    def upload(self, outcome: str, nbytes: int = 0) -> None:
        """An upload ended with ``outcome``; ``nbytes`` counted when it was accepted."""
        self._uploads.labels(outcome).inc()
        if outcome in ("stored", "deduplicated") and nbytes > 0:
            self._uploaded_bytes.inc(nbytes)

    def download(self, nbytes: int) -> None:
        self._downloads.inc()
        if nbytes > 0:
            self._downloaded_bytes.inc(nbytes)

    def failure(self, operation: str) -> None:
        self._failures.labels(operation).inc()

    def thumbnail(self, outcome: str) -> None:
        self._thumbnails.labels(outcome).inc()

    def orphans_removed(self, objects: int, nbytes: int) -> None:
        if objects > 0:
            self._orphans.inc(objects)
        if nbytes > 0:
            self._orphan_bytes.inc(nbytes)

    def stored(self, nbytes: int) -> None:
        """The bytes of blobs stored now (set by the sweep, which counts them)."""
        self._stored.set(nbytes)


def get_metrics(registry: Registry) -> FilesMetrics:
    """The app's :class:`FilesMetrics` (made by :func:`includeme`)."""
    metrics: FilesMetrics = registry[_KEY]
    return metrics


def includeme(config: Configurator) -> None:
    config.registry[_KEY] = FilesMetrics(config.registry)
