"""Data API: collections and their grants, records (with tombstones) and their grants, history.

Revision ID: 0002_data
Revises: 0001_accounts
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_data"
down_revision = "0001_accounts"
branch_labels = None
depends_on = None

# JSONB on PostgreSQL (GIN-indexable), SQLite's JSON text elsewhere: as benben.data.models.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "benben_collections",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("schema", sa.JSON(), nullable=True),
        sa.Column("indexed_fields", sa.JSON(), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified", sa.BigInteger(), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benben_collections")),
    )
    op.create_table(
        "benben_collection_grants",
        sa.Column("collection_id", sa.String(length=64), nullable=False),
        sa.Column("permission", sa.String(length=16), nullable=False),
        sa.Column("principal", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["benben_collections.id"],
            name=op.f("fk_benben_collection_grants_collection_id_benben_collections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "collection_id", "permission", "principal", name=op.f("pk_benben_collection_grants")
        ),
    )
    op.create_index(
        "ix_benben_collection_grants_principal",
        "benben_collection_grants",
        ["principal", "collection_id"],
        unique=False,
    )
    op.create_table(
        "benben_records",
        sa.Column("collection_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("data", JSON_DOCUMENT, nullable=True),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("last_modified", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["benben_collections.id"],
            name=op.f("fk_benben_records_collection_id_benben_collections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("collection_id", "id", name=op.f("pk_benben_records")),
    )
    op.create_index(
        "ix_benben_records_collection_modified",
        "benben_records",
        ["collection_id", "last_modified"],
        unique=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_benben_records_data_gin",
            "benben_records",
            ["data"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"data": "jsonb_path_ops"},
        )
    op.create_table(
        "benben_record_grants",
        sa.Column("collection_id", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("permission", sa.String(length=16), nullable=False),
        sa.Column("principal", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id", "record_id"],
            ["benben_records.collection_id", "benben_records.id"],
            name=op.f("fk_benben_record_grants_collection_id_benben_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "collection_id",
            "record_id",
            "permission",
            "principal",
            name=op.f("pk_benben_record_grants"),
        ),
    )
    op.create_index(
        "ix_benben_record_grants_principal",
        "benben_record_grants",
        ["collection_id", "principal"],
        unique=False,
    )
    op.create_table(
        "benben_history",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("collection_id", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("previous", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benben_history")),
    )
    op.create_index(
        "ix_benben_history_collection", "benben_history", ["collection_id", "id"], unique=False
    )
    op.create_index(
        "ix_benben_history_record",
        "benben_history",
        ["collection_id", "record_id", "id"],
        unique=False,
    )
    op.create_index("ix_benben_history_timestamp", "benben_history", ["timestamp"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_benben_history_timestamp", table_name="benben_history")
    op.drop_index("ix_benben_history_record", table_name="benben_history")
    op.drop_index("ix_benben_history_collection", table_name="benben_history")
    op.drop_table("benben_history")
    op.drop_index("ix_benben_record_grants_principal", table_name="benben_record_grants")
    op.drop_table("benben_record_grants")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_benben_records_data_gin", table_name="benben_records")
    op.drop_index("ix_benben_records_collection_modified", table_name="benben_records")
    op.drop_table("benben_records")
    op.drop_index("ix_benben_collection_grants_principal", table_name="benben_collection_grants")
    op.drop_table("benben_collection_grants")
    op.drop_table("benben_collections")
