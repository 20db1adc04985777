"""The credentials Benben issues and verifies: refresh-token families, personal API tokens,
revoked access tokens, and the auth epoch.  Secrets are never stored: only SHA-256 digests of
high-entropy tokens (:mod:`.tokens`).

They live beside the code that reads them on every request (:mod:`.identity`, :mod:`.epoch`);
the endpoints that issue them (:mod:`benben.auth`) import them from here.  Their tables belong
to core's migrations like the accounts' (``benben_refresh_tokens``...).
"""

from __future__ import annotations

import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from benben.accounts.models import new_id, utcnow
from benben.db.meta import Base

__all__ = ["ApiToken", "AuthEpoch", "RefreshToken", "RevokedAccessToken"]


class RefreshToken(Base):
    """One refresh token of a family; each refresh rotates to a new one in the same family.

    Presenting a token that was already rotated (``used_at`` set) revokes the whole family.
    """

    __tablename__ = "benben_refresh_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("benben_users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A personal API token for machines: shown once, stored as a digest, scoped, revocable."""

    __tablename__ = "benben_api_tokens"
    # A name is unique among the owner's tokens not revoked (migration 0004): revoking a token
    # frees its name.  The database decides, so two concurrent creations cannot both win.
    __table_args__ = (
        Index(
            "uq_benben_api_tokens_user_id_name_active",
            "user_id",
            "name",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("benben_users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(String(100))  # space-separated: read write admin
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))


class RevokedAccessToken(Base):
    """A logged-out access token's ``jti``, kept until the token would have expired anyway."""

    __tablename__ = "benben_revoked_access_tokens"
    __table_args__ = (Index("ix_benben_revoked_access_tokens_expires_at", "expires_at"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))


class AuthEpoch(Base):
    """One row (id 1) whose value every change to who may do what advances in its own
    transaction: how processes sharing nothing but the database hear of such a change (see
    :mod:`.epoch`)."""

    __tablename__ = "benben_auth_epoch"
    # Migration 0003 writes its one row: a restore's emptiness check looks past it.
    __table_args__ = {"info": {"backup_seeded": True}}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)
