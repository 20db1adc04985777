"""The data API's tables: collections, records (with tombstones), record grants, history.

Time in this package is ``last_modified``: epoch milliseconds as an integer, strictly increasing
per collection in commit order.  A collection's ``last_modified`` is its *version*: every change
to the collection or to any of its records bumps it, in the same transaction, while holding the
collection row's lock, so writers to one collection commit in timestamp order (see storage).
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, Unmapped, mapped_column, unmapped_column

from benben.db.meta import Base
from benben.timestamps import utcnow

__all__ = [
    "Collection",
    "CollectionGrant",
    "HistoryEntry",
    "JSONDocument",
    "Record",
    "RecordGrant",
    "SearchVectors",
]

# JSONB on PostgreSQL (GIN-indexable, binary), SQLite's JSON text elsewhere.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")
# An auto-increment 64-bit key on PostgreSQL; SQLite only auto-increments INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Collection(Base):
    __tablename__ = "benben_collections"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # The JSON Schema (draft 2020-12) records must satisfy; None: any JSON object.
    schema: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Dotted paths into record data that get an index (PostgreSQL: an expression index each).
    indexed_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Dotted paths whose text ``_q`` searches, and the language that text is stemmed in
    # (see search.py: an FTS5 table on SQLite, a GIN expression index on PostgreSQL).
    searchable_fields: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    search_language: Mapped[str] = mapped_column(
        String(32), default="simple", server_default=text("'simple'")
    )
    # {"read": [principal, ...], "write": [...], "create": [...], "admin": [...]}
    permissions: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The collection's version: the last_modified of its latest change (itself or a record).
    last_modified: Mapped[int] = mapped_column(BigInteger, default=0)
    record_count: Mapped[int] = mapped_column(Integer, default=0)


class CollectionGrant(Base):
    """One (principal, permission) granted on one collection, the creator's admin included.

    Mirrors ``Collection.permissions`` so that the list of collections a caller may see is
    filtered in SQL.
    """

    __tablename__ = "benben_collection_grants"
    __table_args__ = (Index("ix_benben_collection_grants_principal", "principal", "collection_id"),)

    collection_id: Mapped[str] = mapped_column(
        String(64),
        ForeignKey("benben_collections.id", ondelete="CASCADE"),
        primary_key=True,
    )
    permission: Mapped[str] = mapped_column(String(16), primary_key=True)
    principal: Mapped[str] = mapped_column(String(128), primary_key=True)


class Record(Base):
    """A record, or the tombstone of a deleted one (``deleted``, ``data`` None) for ``_since``."""

    __tablename__ = "benben_records"
    __table_args__ = (
        # _since/_before scans and the default sort: one ordered index range per collection.
        Index("ix_benben_records_collection_modified", "collection_id", "last_modified"),
        # PostgreSQL only: on SQLite it would be a plain B-tree over every document's text.
        Index(
            "ix_benben_records_data_gin",
            "data",
            postgresql_using="gin",
            postgresql_ops={"data": "jsonb_path_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    collection_id: Mapped[str] = mapped_column(
        String(64),
        ForeignKey("benben_collections.id", ondelete="CASCADE"),
        primary_key=True,
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)
    # Record-level grants, as given by the client: {"read": [...], "write": [...]}.  Mirrored
    # into RecordGrant rows so that list filtering by principal happens in SQL.
    permissions: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    last_modified: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Members plugins add to the record's JSON (``add_record_member``: the files plugin's
    # ``attachments``), written with the record so that its version, ETag and caches cover them.
    members: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # PostgreSQL only (info's dialect): the searchable text's tsvector, written by the trigger
    # of migration 0008 (see search_index.py).  A column of the table, not of the ORM's
    # records: the ORM neither loads it nor writes it (SQLite has no such column).
    search_vector: Unmapped[Any] = unmapped_column(
        TSVECTOR, nullable=True, info={"dialect": "postgresql"}
    )


class SearchVectors(Base):
    """PostgreSQL only: whether a collection's ``search_vector`` columns and their GIN index are
    ready for its declaration (then searches read them; see search_index.py)."""

    __tablename__ = "benben_search_vectors"
    __table_args__ = {"info": {"dialect": "postgresql"}}

    collection_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("benben_collections.id", ondelete="CASCADE"), primary_key=True
    )
    # Advanced by every declaration change: a build marks ready only the generation it began.
    generation: Mapped[int] = mapped_column(Integer)
    ready: Mapped[bool] = mapped_column(Boolean)
    # The declaration the vectors were computed under, when ready.
    searchable_fields: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    search_language: Mapped[str | None] = mapped_column(String(32), nullable=True)


class RecordGrant(Base):
    """One (principal, permission) granted on one record; the creator's write grant included."""

    __tablename__ = "benben_record_grants"
    __table_args__ = (
        ForeignKeyConstraint(
            ["collection_id", "record_id"],
            ["benben_records.collection_id", "benben_records.id"],
            ondelete="CASCADE",
        ),
        Index("ix_benben_record_grants_principal", "collection_id", "principal"),
    )

    collection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    permission: Mapped[str] = mapped_column(String(16), primary_key=True)
    principal: Mapped[str] = mapped_column(String(128), primary_key=True)


class HistoryEntry(Base):
    """Who changed what, when: written in the same transaction as the change."""

    __tablename__ = "benben_history"
    __table_args__ = (
        Index("ix_benben_history_collection", "collection_id", "id"),
        # "Who changed this record": one index range instead of the collection's whole history.
        Index("ix_benben_history_record", "collection_id", "record_id", "id"),
        Index("ix_benben_history_timestamp", "timestamp"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # No foreign key: history outlives the collection it describes, until retention drops it.
    collection_id: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(16))  # "collection" | "record"
    record_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(16))  # "create" | "update" | "delete"
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    timestamp: Mapped[int] = mapped_column(BigInteger)  # the change's last_modified
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    previous: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
