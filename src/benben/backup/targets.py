"""Where archives go: a file, a directory, or an S3-compatible bucket (``s3://bucket/prefix``).

``open_target(settings, output)`` reads ``benben backup --output`` (None: the setting
``benben.backup.target``; empty: ``<data directory>/backups``).  A :class:`Target` writes an
archive whole or not at all (a local ``.partial`` file renamed once synced; an S3 object uploaded
from a local temporary file, which appears only when complete), lists the archives it holds
(``benben-backup-<UTC time>Z.tar``, the only names retention ever deletes) and hands an archive
back as a local file (:func:`fetch_archive`: restore and verify read S3 archives that way).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

__all__ = [
    "ARCHIVE_NAME",
    "ArchiveInfo",
    "BackupError",
    "DirectoryTarget",
    "S3Target",
    "Target",
    "archive_name",
    "archive_time",
    "fetch_archive",
    "open_target",
]

# benben-backup-20261207T190000123456Z.tar: sorts by time, parses back to it.
ARCHIVE_NAME = re.compile(r"benben-backup-(\d{8}T\d{12})Z\.tar")
_NAME_TIME = "%Y%m%dT%H%M%S%f"


class BackupError(Exception):
    """A backup that cannot be made: the message says why.  ``usage``: the caller's input
    (an output that names nothing usable) rather than a failure at run time."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True)
class ArchiveInfo:
    """An archive a target holds: its name, when it was made (from the name), its size."""

    name: str
    created_at: datetime.datetime
    size: int


def archive_name(now: datetime.datetime) -> str:
    """The name of an archive made at ``now`` (UTC; a naive time is taken as UTC)."""
    if now.tzinfo is not None:
        now = now.astimezone(datetime.UTC)
    return f"benben-backup-{now.strftime(_NAME_TIME)}Z.tar"


def archive_time(name: str) -> datetime.datetime | None:
    """When the archive ``name`` was made, or None for a name that is not an archive's."""
    match = ARCHIVE_NAME.fullmatch(name)
    if match is None:
        return None
    try:
        parsed = datetime.datetime.strptime(match.group(1), _NAME_TIME)
    except ValueError:
        return None
    return parsed.replace(tzinfo=datetime.UTC)


class Target(Protocol):
    """Somewhere archives are written, listed, deleted and read back."""

    def name_for(self, now: datetime.datetime) -> str:
        """The name of the archive written at ``now``."""

    def location(self, name: str) -> str:
        """Where the archive ``name`` is, for people (a path, an s3:// URL)."""

    def write(self, name: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """A binary file: the archive ``name`` once the block ends without an error; nothing
        (no partial file) when it raises."""

    def list(self) -> list[ArchiveInfo]:
        """The archives (``benben-backup-*.tar``) held, oldest first."""

    def delete(self, name: str) -> None:
        """Delete the archive ``name``."""

    def fetch(self, name: str) -> contextlib.AbstractContextManager[Path]:
        """The archive ``name`` as a local file, for the block's duration."""


class DirectoryTarget:
    """A local directory; ``filename``: the one archive name of an ``--output FILE.tar``."""

    def __init__(self, directory: Path, filename: str | None = None) -> None:
        self.directory = directory
        self.filename = filename

    def name_for(self, now: datetime.datetime) -> str:
        return self.filename or archive_name(now)

    def location(self, name: str) -> str:
        return str(self.directory / name)

    @contextlib.contextmanager
    def write(self, name: str) -> Iterator[BinaryIO]:
        final = self.directory / name
        partial = final.with_name(final.name + ".partial")
        # 0600: an archive holds password hashes and token digests.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, final)
        except BaseException:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise
        _fsync_directory(self.directory)

    def list(self) -> list[ArchiveInfo]:
        found = []
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.directory):
                created = archive_time(entry.name)
                if created is not None and entry.is_file(follow_symlinks=False):
                    found.append(ArchiveInfo(entry.name, created, entry.stat().st_size))
        return sorted(found, key=lambda info: info.name)

    def delete(self, name: str) -> None:
        (self.directory / name).unlink()

    @contextlib.contextmanager
    def fetch(self, name: str) -> Iterator[Path]:
        yield self.directory / name


class S3Target:
    """``s3://bucket/prefix``: archives are objects ``<prefix>/<name>``."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client = client

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def name_for(self, now: datetime.datetime) -> str:
        return archive_name(now)

    def location(self, name: str) -> str:
        return f"s3://{self.bucket}/{self.key(name)}"

    @contextlib.contextmanager
    def _errors(self, name: str) -> Iterator[None]:
        """boto3's failures (no credentials, no bucket, refused) as one clear line."""
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except (Boto3Error, BotoCoreError, ClientError) as exc:
            raise BackupError(f"{self.location(name)}: {exc}") from exc

    @contextlib.contextmanager
    def write(self, name: str) -> Iterator[BinaryIO]:
        # Written locally first: an upload of a stream of unknown size cannot be resumed part
        # by part, and upload_file goes multipart (parallel parts, retried) for a large file.
        with tempfile.NamedTemporaryFile(prefix="benben-backup-", suffix=".tar") as local:
            yield local  # type: ignore[misc]
            local.flush()
            with self._errors(name):
                self.client.upload_file(local.name, self.bucket, self.key(name))

    def list(self) -> list[ArchiveInfo]:
        found = []
        prefix = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, Delimiter="/"
        )
        with self._errors(""):
            for page in pages:
                for item in page.get("Contents", ()):
                    name = item["Key"][len(prefix) :]
                    created = archive_time(name)
                    if created is not None:
                        found.append(ArchiveInfo(name, created, int(item["Size"])))
        return sorted(found, key=lambda info: info.name)

    def delete(self, name: str) -> None:
        with self._errors(name):
            self.client.delete_object(Bucket=self.bucket, Key=self.key(name))

    @contextlib.contextmanager
    def fetch(self, name: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="benben-backup-") as directory:
            local = Path(directory) / name
            with self._errors(name):
                self.client.download_file(self.bucket, self.key(name), str(local))
            yield local


def open_target(settings: Mapping[str, Any], output: str | None) -> Target:
    """The target ``output`` names (see the module's docstring)."""
    if output is None:
        output = str(settings.get("benben.backup.target") or "")
    if output.startswith("s3://"):
        bucket, prefix = _split_s3(output)
        return S3Target(bucket, prefix, _s3_client(settings))
    if not output:
        directory = Path(settings["benben.data_dir"]) / "backups"
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return DirectoryTarget(directory)
    path = Path(os.path.abspath(os.path.expanduser(output)))
    if output.endswith(("/", os.sep)):
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return DirectoryTarget(path)
    if path.is_dir():
        return DirectoryTarget(path)
    if path.suffix == ".tar":
        if not path.parent.is_dir():
            raise BackupError(f"directory {path.parent} does not exist", usage=True)
        return DirectoryTarget(path.parent, path.name)
    raise BackupError(
        f"{output}: neither an existing directory nor a file name ending in .tar "
        "(end it with / to create a directory)",
        usage=True,
    )


@contextlib.contextmanager
def fetch_archive(settings: Mapping[str, Any], location: str) -> Iterator[Path]:
    """The archive at ``location`` (a path or ``s3://bucket/key``) as a local file for the
    block's duration (an S3 object downloaded to a temporary file, removed afterwards)."""
    if not location.startswith("s3://"):
        yield Path(location)
        return
    bucket, key = _split_s3(location)
    if not key:
        raise BackupError(f"{location}: no object key after the bucket", usage=True)
    prefix, _, name = key.rpartition("/")
    with S3Target(bucket, prefix, _s3_client(settings)).fetch(name) as local:
        yield local


def _split_s3(url: str) -> tuple[str, str]:
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise BackupError(f"{url}: no bucket (s3://bucket/prefix)", usage=True)
    return bucket, prefix.strip("/")


def _s3_client(settings: Mapping[str, Any]) -> Any:
    try:
        import boto3
    except ModuleNotFoundError:
        raise BackupError(
            "s3:// backup targets need boto3: pip install 'benben[s3]'", usage=True
        ) from None
    return boto3.client(
        "s3",
        endpoint_url=settings.get("benben.backup.s3_endpoint_url") or None,
        region_name=settings.get("benben.backup.s3_region") or None,
    )


def _fsync_directory(directory: Path) -> None:
    """The rename made durable: a crash after it must not bring the old name back."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
