"""The auth epoch: one row every change to who may do what advances (benben.security.epoch).

Revision ID: 0003_auth_epoch
Revises: 0002_data
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_auth_epoch"
down_revision = "0002_data"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "benben_auth_epoch",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benben_auth_epoch")),
    )
    # The row exists from the start: advancing it is then one UPDATE, never an insert race.
    op.bulk_insert(table, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("benben_auth_epoch")
