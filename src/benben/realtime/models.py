"""Stream tickets: what lets a browser's ``EventSource`` (which cannot send an ``Authorization``
header) open a change stream without putting a long-lived credential in a URL.

A ticket is minted by an authenticated ``POST /api/v1/changes/tickets`` and redeemed once, within
seconds, by ``GET .../changes?ticket=``.  The row keeps only the ticket's SHA-256 (the ticket
itself is never stored) and the minting credential *sealed with a key derived from the ticket*:
whoever reads the table learns no credential, and the stream that redeems the ticket re-checks that
credential for its whole life (revocation, expiry) by the same rules as every request.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from benben.db.meta import Base

__all__ = ["StreamTicket"]


class StreamTicket(Base):
    __tablename__ = "benben_stream_tickets"
    __table_args__ = (Index("ix_benben_stream_tickets_expires", "expires_at"),)

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the ticket
    user_id: Mapped[str] = mapped_column(String(36))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)  # nonce + AES-GCM(credential)
    expires_at: Mapped[int] = mapped_column(BigInteger)  # epoch milliseconds
