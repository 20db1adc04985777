"""The files plugin's tables: blobs, attachments, thumbnails, policies (benben_files.models).

Revision ID: files_0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "files_0001"
down_revision = None
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "files_blobs",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("last_used_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_files_blobs")),
        sa.UniqueConstraint("key", name=op.f("uq_files_blobs_key")),
    )
    op.create_index("ix_files_blobs_last_used_at", "files_blobs", ["last_used_at"])
    op.create_table(
        "files_attachments",
        sa.Column("collection_id", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=True),
        sa.Column("last_modified", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "collection_id", "record_id", "name", name=op.f("pk_files_attachments")
        ),
    )
    op.create_index("ix_files_attachments_sha256", "files_attachments", ["sha256"])
    op.create_table(
        "files_thumbnails",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.String(16), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("sha256", "size", name=op.f("pk_files_thumbnails")),
        sa.UniqueConstraint("key", name=op.f("uq_files_thumbnails_key")),
    )
    op.create_table(
        "files_policies",
        sa.Column("collection_id", sa.String(64), nullable=False),
        sa.Column("max_file_size", sa.BigInteger(), nullable=True),
        sa.Column("quota_bytes", sa.BigInteger(), nullable=True),
        sa.Column("allowed_types", sa.JSON(), nullable=True),
        sa.Column("thumbnail_sizes", sa.JSON(), nullable=True),
        sa.Column("schema", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("collection_id", name=op.f("pk_files_policies")),
    )


def downgrade() -> None:
    for table in ("files_policies", "files_thumbnails", "files_attachments", "files_blobs"):
        op.drop_table(table)
