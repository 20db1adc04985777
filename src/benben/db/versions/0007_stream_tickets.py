"""Realtime stream tickets (``POST /api/v1/changes/tickets``): single-use, short-lived.

Revision ID: 0007_stream_tickets
Revises: 0006_record_members
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_stream_tickets"
down_revision = "0006_record_members"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "benben_stream_tickets",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_benben_stream_tickets")),
    )
    op.create_index("ix_benben_stream_tickets_expires", "benben_stream_tickets", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_benben_stream_tickets_expires", table_name="benben_stream_tickets")
    op.drop_table("benben_stream_tickets")
