"""The app's storage backend, built at start-up from ``benben.files.storage`` (local | s3).

``includeme`` builds it once (a bad setting stops start-up with a ConfigurationError naming it)
and keeps it on the registry; :func:`get_storage` is how the rest of the plugin reaches it.
Its health check (``files-storage``) is not critical: without its storage the instance still
serves everything but files, so it reports degraded and stays ready.
"""

from __future__ import annotations

import errno
import logging
import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benben.plugin import ConfigurationError, Configurator, Registry, Request, data_directory

from ..settings import FilesSettings, get_settings
from .base import BlobStorage, StorageError, StoredObject

log = logging.getLogger(__name__)
__all__ = [
    "STORAGE_KEY",
    "BlobStorage",
    "StorageError",
    "StoredObject",
    "build_storage",
    "get_storage",
    "new_key",
]

STORAGE_KEY = "benben_files.storage"
KINDS = ("blobs", "thumbnails")


def new_key(kind: str) -> str:
    """A fresh object key, ``blobs/3f/3f2a...``: random (never reused, never a client's
    input), sharded by its first two characters so that no directory grows too large."""
    if kind not in KINDS:
        raise ValueError(f"unknown object kind {kind!r}")
    name = uuid.uuid4().hex
    return f"{kind}/{name[:2]}/{name}"


def get_storage(registry: Registry) -> BlobStorage:
    """The app's storage backend (set by ``includeme``)."""
    storage: BlobStorage = registry[STORAGE_KEY]
    return storage


def includeme(config: Configurator) -> None:
    settings = get_settings(config.registry)
    config.registry[STORAGE_KEY] = build_storage(settings, data_directory(config.registry))
    config.add_health_check("files-storage", check_storage, critical=False)


def check_storage(request: Request) -> None:
    """The readiness probe's check: the storage can be written (local) or reached (S3)."""
    get_storage(request.registry).check()


def build_storage(settings: FilesSettings, data_directory: Path) -> BlobStorage:
    """The backend ``settings`` describe; ConfigurationError naming the setting at fault."""
    if settings.storage == "s3":
        return _s3_storage(settings)
    return _local_storage(settings, data_directory)


def _local_storage(settings: FilesSettings, data_directory: Path) -> BlobStorage:
    from .local import DIRECTORY_MODE, LocalStorage

    setting = "benben.files.local.path"
    configured = settings.local_path.strip()
    # A relative path is resolved against the working directory, as benben.data_dir is.
    root = Path(os.path.abspath(os.path.expanduser(configured))) if configured else None
    root = root or data_directory / "files"
    try:
        root.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno not in _NOT_HERE:
            raise ConfigurationError(f"{setting}: cannot create {root} ({exc})") from exc
        # A process that serves no file (`benben migrate` in a chart's Job, on a read-only
        # root) may configure the app without the volume: the health check reports it.
        log.warning("files: the local storage %s cannot be created here (%s)", root, exc)
        return LocalStorage(root)
    storage = LocalStorage(root)
    try:
        storage.check()
    except StorageError as exc:
        raise ConfigurationError(f"{setting}: {root} is not writable ({exc})") from exc
    return storage


# Not a configuration mistake but a process without the volume mounted.
_NOT_HERE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def _s3_storage(settings: FilesSettings) -> BlobStorage:
    if not settings.s3_bucket.strip():
        raise ConfigurationError(
            "benben.files.s3.bucket is required when benben.files.storage = s3"
        )
    if bool(settings.s3_access_key_id) != bool(settings.s3_secret_access_key):
        raise ConfigurationError(
            "benben.files.s3.access_key_id and benben.files.s3.secret_access_key go together: "
            "set both, or neither to use the SDK's credentials chain"
        )
    endpoint = settings.s3_endpoint_url.strip()
    if endpoint and not _is_http_url(endpoint):
        raise ConfigurationError(
            f"benben.files.s3.endpoint_url: {endpoint!r} is not an http:// or https:// URL"
        )
    try:
        import boto3  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            "benben.files.storage = s3 needs boto3: pip install 'benben[s3]'"
        ) from exc
    from .s3 import S3Storage

    # `benben` and `/benben/` mean the folder `benben/`, as the bucket's consoles show it.
    prefix = settings.s3_prefix.strip().strip("/")
    options: dict[str, Any] = {
        "prefix": f"{prefix}/" if prefix else "",
        "part_size": settings.s3_part_size,
        "endpoint_url": endpoint or None,
        "region": settings.s3_region.strip() or None,
        "access_key_id": settings.s3_access_key_id or None,
        "secret_access_key": settings.s3_secret_access_key or None,
        "addressing_style": settings.s3_addressing_style,
    }
    try:
        return S3Storage(settings.s3_bucket.strip(), **options)
    except Exception as exc:  # botocore refusing the configuration (an unknown region...)
        raise ConfigurationError(f"benben.files.s3.*: cannot set up the S3 client ({exc})") from exc


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
