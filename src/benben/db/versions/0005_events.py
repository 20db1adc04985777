"""The change feed: events written in the transaction of each change, and durable consumers'
cursors (benben.events).

``tx`` is the writing transaction's id on PostgreSQL (a server default, so no statement names
it), 0 on SQLite.  SQLite's AUTOINCREMENT never hands a pruned maximum id out again.

Revision ID: 0005_events
Revises: 0004_api_token_names
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_events"
down_revision = "0004_api_token_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    tx_default = "(pg_current_xact_id()::text)::bigint" if postgresql else "0"
    op.create_table(
        "benben_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tx", sa.BigInteger(), server_default=sa.text(tx_default), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("occurred_at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(36), nullable=True),
        sa.Column("collection_id", sa.String(64), nullable=True),
        sa.Column("record_id", sa.String(64), nullable=True),
        sa.Column("last_modified", sa.BigInteger(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benben_events")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_benben_events_position", "benben_events", ["tx", "id"])
    op.create_index("ix_benben_events_occurred", "benben_events", ["occurred_at"])
    op.create_table(
        "benben_feed_consumers",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("tx", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_benben_feed_consumers")),
    )


def downgrade() -> None:
    op.drop_table("benben_feed_consumers")
    op.drop_index("ix_benben_events_occurred", table_name="benben_events")
    op.drop_index("ix_benben_events_position", table_name="benben_events")
    op.drop_table("benben_events")
