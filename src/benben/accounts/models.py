"""Accounts: users, groups and their memberships.  Passwords are never stored: only argon2id
hashes.  The credentials issued to users (refresh and API tokens, revoked access tokens) and the
auth epoch are :mod:`benben.security.models`."""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import Boolean, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from benben.db.meta import Base


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Timestamped:
    created_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.current_timestamp()
    )
    updated_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True),
        default=utcnow,
        onupdate=utcnow,
        server_default=func.current_timestamp(),
    )


class GroupMember(Base):
    __tablename__ = "benben_group_members"

    group_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("benben_groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("benben_users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class User(Timestamped, Base):
    __tablename__ = "benben_users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # Stored lowercased (see services): uniqueness is case-insensitive on every backend.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Access tokens issued before this instant are refused: ends sessions after a password change.
    sessions_valid_after: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))

    groups: Mapped[list[Group]] = relationship(
        secondary="benben_group_members", back_populates="members", lazy="selectin"
    )


class Group(Timestamped, Base):
    __tablename__ = "benben_groups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")

    members: Mapped[list[User]] = relationship(
        secondary="benben_group_members", back_populates="groups", lazy="selectin"
    )
