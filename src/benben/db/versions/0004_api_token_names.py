"""API token names: unique among the owner's tokens not revoked, so a revoked token's name can be
used again (it was unique among all of them, revoked ones included: 409 for ever).

A partial unique index (``WHERE revoked_at IS NULL``) replaces the unique constraint: both
SQLite and PostgreSQL have them, and the database still decides between concurrent creations.

Revision ID: 0004_api_token_names
Revises: 0003_auth_epoch
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_api_token_names"
down_revision = "0003_auth_epoch"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("revoked_at IS NULL")


def upgrade() -> None:
    # Batch mode: SQLite cannot drop a constraint in place, so the table is copied (rows, the
    # foreign key and the user_id index kept); PostgreSQL drops it with ALTER TABLE.
    with op.batch_alter_table("benben_api_tokens") as batch:
        batch.drop_constraint("uq_benben_api_tokens_user_id", type_="unique")
    op.create_index(
        "uq_benben_api_tokens_user_id_name_active",
        "benben_api_tokens",
        ["user_id", "name"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )


def downgrade() -> None:
    # Fails when a revoked token and another token share a name: revoke-and-reuse happened.
    op.drop_index("uq_benben_api_tokens_user_id_name_active", table_name="benben_api_tokens")
    with op.batch_alter_table("benben_api_tokens") as batch:
        batch.create_unique_constraint("uq_benben_api_tokens_user_id", ["user_id", "name"])
