"""Records' members added by plugins (``add_record_member``): one nullable JSON column.

Adding a nullable column without a default rewrites no row on either database.

Revision ID: 0006_record_members
Revises: 0005_events
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_record_members"
down_revision = "0005_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("benben_records", sa.Column("members", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("benben_records") as batch:
        batch.drop_column("members")
