"""The files plugin's tables.

- :class:`Blob`: a stored content, once per sha256 (identical uploads share it).  Its storage
  ``key`` is unique per upload that stored it (``blobs/<uuid>``), never reused: a sweep deleting
  an unreferenced blob's object can then never delete a later upload's object of the same
  content.  ``last_used_at`` is set by every upload that references it, under the row's lock,
  so the sweep's ``DELETE ... WHERE last_used_at < cutoff`` cannot remove a blob that an
  upload committing meanwhile has just referenced.
- :class:`Attachment`: a record's file, by name; the index of what the records' ``attachments``
  member shows (quota sums, the sweep's references, enumeration for backups).
- :class:`Thumbnail`: a generated thumbnail of a blob, stored as its own object.
- :class:`Policy`: a collection's limits (size, quota, types, attachment schema, thumbnails).
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from benben.plugin import Base

__all__ = ["Attachment", "Blob", "Policy", "Thumbnail", "utcnow"]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Blob(Base):
    """A stored content (its sha256), in storage under ``key``."""

    __tablename__ = "files_blobs"
    __table_args__ = (Index("ix_files_blobs_last_used_at", "last_used_at"),)

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    # The type sniffed from the content (what downloads are served as).
    content_type: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Attachment(Base):
    """A record's file: ``name`` unique within its record."""

    __tablename__ = "files_attachments"
    __table_args__ = (Index("ix_files_attachments_sha256", "sha256"),)

    collection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # Epoch milliseconds: the record's last_modified written with it.
    last_modified: Mapped[int] = mapped_column(BigInteger)


class Thumbnail(Base):
    """A thumbnail of a blob at one size (``WxH``, ``0`` keeping the aspect ratio)."""

    __tablename__ = "files_thumbnails"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    content_type: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Policy(Base):
    """A collection's attachment policy; a missing row or a None value: the settings' default."""

    __tablename__ = "files_policies"

    collection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    max_file_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    quota_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    allowed_types: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    thumbnail_sizes: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # A JSON Schema the record's ``attachments`` object must satisfy after every change.
    schema: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
