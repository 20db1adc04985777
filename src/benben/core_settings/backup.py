"""Backups (benben.backup): where scheduled archives go, how often, how many are kept, and the
S3-compatible store archives may be written to.

Part of :data:`benben.core_settings.CORE_SETTINGS`.
"""

from __future__ import annotations

from benben.settings import Setting, as_int, as_str

__all__ = ["BACKUP_SETTINGS"]

BACKUP_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "benben.backup.interval_hours",
        as_int(0, 24 * 7),
        0,
        "Hours between scheduled backups, taken by the worker (`benben backup` does the same "
        "by hand). 0: no scheduled backups.",
    ),
    Setting(
        "benben.backup.target",
        as_str,
        "",
        "Where scheduled backups are written: a directory, or s3://bucket/prefix. Empty: the "
        "backups directory in the data directory (the embedded default's ./var/backups).",
    ),
    Setting(
        "benben.backup.keep_daily",
        as_int(0, 3650),
        7,
        "Scheduled backups kept: the newest of each of the last N days.",
    ),
    Setting(
        "benben.backup.keep_weekly",
        as_int(0, 520),
        4,
        "Scheduled backups kept besides: the newest of each of the last M ISO weeks.",
    ),
    Setting(
        "benben.backup.s3_endpoint_url",
        as_str,
        "",
        "S3-compatible endpoint for s3:// backup targets (MinIO, Ceph...). Empty: AWS S3. "
        "Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID..., a role).",
    ),
    Setting(
        "benben.backup.s3_region",
        as_str,
        "",
        "Region of the s3:// backup targets' bucket. Empty: boto3's default.",
    ),
)
