"""The plugin's settings, ``benben.files.*``, and their parsed form (:class:`FilesSettings`).

Every setting of the plugin is declared here, so that ``benben config`` lists them all and a bad
value stops start-up.  A collection's policy (``/collections/{cid}/attachment-policy``)
overrides the limits per collection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from benben.plugin import Registry, Setting, as_bool, as_choice, as_float, as_int, as_list, as_str

__all__ = ["PREFIX", "SETTINGS", "SETTINGS_KEY", "FilesSettings", "get_settings"]

PREFIX = "benben.files."
SETTINGS_KEY = "benben_files.settings"
MiB = 1024 * 1024

SETTINGS = (
    Setting(
        "benben.files.storage",
        as_choice("local", "s3"),
        "local",
        "Where attachments' bytes are kept: `local` (a directory, `benben.files.local.path`) "
        "or `s3` (an S3-compatible bucket: AWS S3, MinIO, Ceph, R2...).",
    ),
    Setting(
        "benben.files.local.path",
        as_str,
        "",
        "Directory of the local storage. Empty: `files` in the data directory. Several "
        "instances must share it (a volume), or use S3.",
    ),
    Setting("benben.files.s3.bucket", as_str, "", "The bucket (required with `s3`)."),
    Setting(
        "benben.files.s3.endpoint_url",
        as_str,
        "",
        "The S3 API's URL for other providers than AWS (MinIO, Ceph, R2). Empty: AWS.",
    ),
    Setting("benben.files.s3.region", as_str, "", "The bucket's region. Empty: the SDK's."),
    Setting(
        "benben.files.s3.access_key_id",
        as_str,
        "",
        "Credentials. Empty: the SDK's chain (AWS_* environment, instance role, IRSA).",
    ),
    Setting(
        "benben.files.s3.secret_access_key",
        as_str,
        "",
        "Credentials, with `benben.files.s3.access_key_id`.",
        secret=True,
    ),
    Setting(
        "benben.files.s3.prefix",
        as_str,
        "",
        "Key prefix inside the bucket (`benben/`), to share a bucket.",
    ),
    Setting(
        "benben.files.s3.addressing_style",
        as_choice("auto", "path", "virtual"),
        "auto",
        "`path` for most self-hosted servers (MinIO, Ceph), `virtual` or `auto` for AWS.",
    ),
    Setting(
        "benben.files.s3.part_size",
        as_int(5 * MiB, 5 * 1024 * MiB),
        16 * MiB,
        "Bytes per part of a multipart upload; a file larger than one part is sent as one "
        "(S3 allows 10,000 parts: 16 MiB parts reach 156 GiB).",
    ),
    Setting(
        "benben.files.presigned_downloads",
        as_bool,
        False,
        "With S3: downloads answer a redirect (307) to a presigned URL of the bucket instead "
        "of streaming through Benben. The URL holds for `benben.files.presigned_expiry` "
        "seconds, and works for whoever has it meanwhile.",
    ),
    Setting(
        "benben.files.presigned_expiry",
        as_int(10, 7 * 24 * 3600),
        300,
        "Seconds a presigned download URL holds.",
    ),
    Setting(
        "benben.files.max_file_size",
        as_int(1, 5 * 1024**4),
        100 * MiB,
        "Largest attachment, in bytes (a collection's policy may set another). Beyond: 413, "
        "before anything is stored.",
    ),
    Setting(
        "benben.files.collection_quota",
        as_int(0),
        0,
        "Bytes of attachments a collection may hold (a collection's policy may set another). "
        "0: no quota.",
    ),
    Setting(
        "benben.files.allowed_types",
        as_list,
        (),
        "Media types attachments may have, as sniffed from their content (`image/*`, "
        "`application/pdf`); a collection's policy may set others. Empty: any type.",
    ),
    Setting(
        "benben.files.orphan_grace_hours",
        as_float(0.01, 24 * 30),
        24.0,
        "An object no attachment references (a rolled-back or interrupted upload, a deleted "
        "record's file) is removed by the sweep once it is this old.",
    ),
    Setting(
        "benben.files.sweep_interval_seconds",
        as_int(10, 7 * 24 * 3600),
        3600,
        "How often the worker's scheduler runs the orphan sweep.",
    ),
    Setting(
        "benben.files.thumbnails",
        as_bool,
        False,
        "Generate thumbnails of image attachments (needs Pillow: `pip install "
        "'benben[images]'`), at the sizes of `benben.files.thumbnail_sizes` or of the "
        "collection's policy.",
    ),
    Setting(
        "benben.files.thumbnail_sizes",
        as_list,
        ("100x100",),
        "Thumbnail sizes, `WxH` (cropped to fill), `WxHf` (fitted inside), `Wx0`/`0xH` (the "
        "other side keeps the aspect ratio); each at most 2048 pixels a side.",
    ),
    Setting(
        "benben.files.thumbnail_max_pixels",
        as_int(1, 400_000_000),
        50_000_000,
        "Images larger than this many pixels get no thumbnail (decompression bombs).",
    ),
)

DEFAULTS = {setting.name[len(PREFIX) :].replace(".", "_"): setting.default for setting in SETTINGS}


@dataclass(frozen=True)
class FilesSettings:
    """The parsed ``benben.files.*`` settings (``local.path`` is ``local_path``...)."""

    storage: str
    local_path: str
    s3_bucket: str
    s3_endpoint_url: str
    s3_region: str
    s3_access_key_id: str
    s3_secret_access_key: str
    s3_prefix: str
    s3_addressing_style: str
    s3_part_size: int
    presigned_downloads: bool
    presigned_expiry: int
    max_file_size: int
    collection_quota: int
    allowed_types: tuple[str, ...]
    orphan_grace_hours: float
    sweep_interval_seconds: int
    thumbnails: bool
    thumbnail_sizes: tuple[str, ...]
    thumbnail_max_pixels: int

    @classmethod
    def from_settings(cls, values: Mapping[str, Any]) -> FilesSettings:
        """From ``plugin_settings(config)``; what is missing takes its default."""
        known = {field.name for field in fields(cls)}
        given = {key.replace(".", "_"): value for key, value in values.items()}
        merged = {**DEFAULTS, **{k: v for k, v in given.items() if k in known}}
        merged["allowed_types"] = as_list(merged["allowed_types"])
        merged["thumbnail_sizes"] = as_list(merged["thumbnail_sizes"])
        return cls(**merged)


def get_settings(registry: Registry) -> FilesSettings:
    """The plugin's settings of this app (set by ``includeme``)."""
    settings: FilesSettings = registry[SETTINGS_KEY]
    return settings
