"""Accounts: users, groups, memberships, refresh tokens, API tokens, revoked access tokens.

Revision ID: 0001_accounts
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_accounts"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "benben_groups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benben_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_benben_groups_name")),
    )
    op.create_table(
        "benben_revoked_access_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_benben_revoked_access_tokens")),
    )
    op.create_index(
        "ix_benben_revoked_access_tokens_expires_at",
        "benben_revoked_access_tokens",
        ["expires_at"],
        unique=False,
    )
    op.create_table(
        "benben_users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("sessions_valid_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benben_users")),
        sa.UniqueConstraint("email", name=op.f("uq_benben_users_email")),
        sa.UniqueConstraint("username", name=op.f("uq_benben_users_username")),
    )
    op.create_table(
        "benben_api_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scopes", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["benben_users.id"],
            name=op.f("fk_benben_api_tokens_user_id_benben_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benben_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_benben_api_tokens_token_hash")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_benben_api_tokens_user_id")),
    )
    op.create_index(
        op.f("ix_benben_api_tokens_user_id"), "benben_api_tokens", ["user_id"], unique=False
    )
    op.create_table(
        "benben_group_members",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["benben_groups.id"],
            name=op.f("fk_benben_group_members_group_id_benben_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["benben_users.id"],
            name=op.f("fk_benben_group_members_user_id_benben_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_benben_group_members")),
    )
    op.create_index(
        op.f("ix_benben_group_members_user_id"), "benben_group_members", ["user_id"], unique=False
    )
    op.create_table(
        "benben_refresh_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("family_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["benben_users.id"],
            name=op.f("fk_benben_refresh_tokens_user_id_benben_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benben_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_benben_refresh_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_benben_refresh_tokens_family_id"),
        "benben_refresh_tokens",
        ["family_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_benben_refresh_tokens_user_id"), "benben_refresh_tokens", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_benben_refresh_tokens_user_id"), table_name="benben_refresh_tokens")
    op.drop_index(op.f("ix_benben_refresh_tokens_family_id"), table_name="benben_refresh_tokens")
    op.drop_table("benben_refresh_tokens")
    op.drop_index(op.f("ix_benben_group_members_user_id"), table_name="benben_group_members")
    op.drop_table("benben_group_members")
    op.drop_index(op.f("ix_benben_api_tokens_user_id"), table_name="benben_api_tokens")
    op.drop_table("benben_api_tokens")
    op.drop_table("benben_users")
    op.drop_index(
        "ix_benben_revoked_access_tokens_expires_at", table_name="benben_revoked_access_tokens"
    )
    op.drop_table("benben_revoked_access_tokens")
    op.drop_table("benben_groups")
