"""Full-text search: each collection's ``searchable_fields`` and ``search_language``; on SQLite,
the FTS5 table of searchable records' normalized text and the triggers keeping it in sync.

Both columns have constant defaults: no row is rewritten on either database.

PostgreSQL: ``benben_search_text(data, paths)``, the text of a record's searchable fields (each
path's string, or an array's strings, joined by spaces; nothing from other JSON types), an
immutable function so that each searchable collection gets a GIN expression index on
``to_tsvector(language, benben_search_text(data, paths))``, built in the background when its
declaration changes (benben.data.search_index).  Path segments are object keys only (``->``
with a text key gives NULL on an array), as everywhere in the data API.

SQLite: ``benben_record_search`` holds, under the records row's rowid, the text that the
function ``benben_search_document`` (registered on every connection of the app's engine, see
benben.data.search) makes of a live record of a searchable collection.  The triggers read the
collection's declaration in the writing transaction, whatever writes the record.  A tool that
writes records on a connection of its own without that function fails its writes (SQLite
prepares every trigger of a table with each statement on it).

Revision ID: 0008_collection_search
Revises: 0007_stream_tickets
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_collection_search"
down_revision = "0007_stream_tickets"
branch_labels = None
depends_on = None

# The record's text, when it is live and its collection declares searchable fields.
_DOCUMENT = """
    INSERT INTO benben_record_search (rowid, body)
    SELECT new.rowid, benben_search_document(new.data, c.searchable_fields, c.search_language)
      FROM benben_collections AS c
     WHERE c.id = new.collection_id AND json_array_length(c.searchable_fields) > 0
       AND NOT new.deleted;
"""
_SQLITE_UPGRADE = (
    "CREATE VIRTUAL TABLE benben_record_search USING fts5"
    "(body, tokenize = 'unicode61 remove_diacritics 0')",
    f"""CREATE TRIGGER benben_record_search_insert AFTER INSERT ON benben_records
        BEGIN {_DOCUMENT} END""",
    f"""CREATE TRIGGER benben_record_search_update AFTER UPDATE OF data, deleted
        ON benben_records
        BEGIN
            DELETE FROM benben_record_search WHERE rowid = old.rowid;
            {_DOCUMENT}
        END""",  # noqa: S608 - no input: the migration's own SQL
    """CREATE TRIGGER benben_record_search_delete AFTER DELETE ON benben_records
        BEGIN DELETE FROM benben_record_search WHERE rowid = old.rowid; END""",
)
_POSTGRESQL_UPGRADE = (
    """CREATE FUNCTION benben_search_text(document jsonb, paths text[]) RETURNS text
       LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    DECLARE
        path text;
        segment text;
        found jsonb;
        element jsonb;
        parts text[] := '{}';
    BEGIN
        FOREACH path IN ARRAY paths LOOP
            found := document;
            FOREACH segment IN ARRAY string_to_array(path, '.') LOOP
                found := found -> segment;
            END LOOP;
            IF jsonb_typeof(found) = 'string' THEN
                parts := parts || (found #>> '{}');
            ELSIF jsonb_typeof(found) = 'array' THEN
                FOR element IN SELECT jsonb_array_elements(found) LOOP
                    IF jsonb_typeof(element) = 'string' THEN
                        parts := parts || (element #>> '{}');
                    END IF;
                END LOOP;
            END IF;
        END LOOP;
        RETURN array_to_string(parts, ' ');
    END
    $$""",
)
_SQLITE_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS benben_record_search_delete",
    "DROP TRIGGER IF EXISTS benben_record_search_update",
    "DROP TRIGGER IF EXISTS benben_record_search_insert",
    "DROP TABLE IF EXISTS benben_record_search",
)


def upgrade() -> None:
    op.add_column(
        "benben_collections",
        sa.Column("searchable_fields", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column(
        "benben_collections",
        sa.Column(
            "search_language", sa.String(32), nullable=False, server_default=sa.text("'simple'")
        ),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _SQLITE_UPGRADE if sqlite else _POSTGRESQL_UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in _SQLITE_DOWNGRADE:
            op.execute(statement)
    else:
        # The collections' search indexes (benben.data.search_index names them so).
        names = bind.execute(
            sa.text(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                "AND indexname LIKE 'ix\\_benben\\_rs\\_%'"
            )
        ).scalars()
        for name in list(names):
            op.execute(f'DROP INDEX IF EXISTS "{name}"')
        op.execute("DROP FUNCTION IF EXISTS benben_search_text(jsonb, text[])")
    # Not batch mode: recreating benben_collections would cascade to every record (SQLite
    # drops columns in place since 3.35).
    op.drop_column("benben_collections", "search_language")
    op.drop_column("benben_collections", "searchable_fields")
