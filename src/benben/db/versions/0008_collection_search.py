"""Full-text search: each collection's ``searchable_fields`` and ``search_language``; on SQLite,
the FTS5 table of searchable records' normalized text and the triggers keeping it in sync; on
PostgreSQL, each record's ``search_vector`` and the trigger keeping it.

Both collection columns have constant defaults, and ``search_vector`` is a nullable column
without default: no row is rewritten on either database.

PostgreSQL: ``benben_search_text(data, paths)``, the text of a record's searchable fields (each
path's string, or an array's strings, joined by spaces; nothing from other JSON types).  Path
segments are object keys only (``->`` with a text key gives NULL on an array), as everywhere in
the data API.  ``benben_search_vector(collection_id, data, deleted)`` is
``to_tsvector(language, benben_search_text(data, paths))`` under the collection's declaration as
it is now (NULL for a tombstone or a collection declaring nothing); the trigger
``benben_record_search_vector`` stores it in ``search_vector`` before every insert and every
update of ``data`` or ``deleted``, whatever writes the record.  ``benben_search_vectors`` says,
per collection, whether every record's ``search_vector`` holds the current declaration's vector
and its partial GIN index is built (``ready``); a declaration change advances ``generation`` and
clears ``ready`` in its transaction, and the background task (benben.data.search_index)
recomputes the collection's vectors in batches, builds the index concurrently and sets ``ready``
if no change came meanwhile.  Until then searches evaluate the expression.

SQLite: ``benben_record_search`` holds, under the records row's rowid, the text that the
function ``benben_search_document`` (registered on every connection of the app's engine, see
benben.data.search) makes of a live record of a searchable collection.  The triggers read the
collection's declaration in the writing transaction, whatever writes the record; an update
writes the row again only when ``benben_search_values`` (the searchable values) changed.  A tool
that writes records on a connection of its own without these functions fails its writes (SQLite
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

_FTS5_SETTING = "INSERT INTO benben_record_search (benben_record_search, rank) VALUES "
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
    # Each write transaction adds a segment; FTS5 merges them as it goes, automerge of a level
    # at a time (default 4), or all at once when crisismerge pile up (default 16).  Merging
    # fewer times, in larger merges, costs a write 30% less on average, a rare word's lookup
    # 0.04 ms more (docs/search.md).
    _FTS5_SETTING + "('automerge', 16)",
    _FTS5_SETTING + "('crisismerge', 64)",
    f"""CREATE TRIGGER benben_record_search_insert AFTER INSERT ON benben_records
        BEGIN {_DOCUMENT} END""",
    # Only when the text changes: an update of other fields (or a PUT of the same data) leaves
    # the FTS5 row as it is, rather than delete and write it again.
    f"""CREATE TRIGGER benben_record_search_update AFTER UPDATE OF data, deleted
        ON benben_records
        WHEN old.deleted IS NOT new.deleted OR (old.data IS NOT new.data AND EXISTS (
            SELECT 1 FROM benben_collections AS c
             WHERE c.id = new.collection_id AND json_array_length(c.searchable_fields) > 0
               AND benben_search_values(old.data, c.searchable_fields)
                   IS NOT benben_search_values(new.data, c.searchable_fields)))
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
    # VOLATILE (the default): its query sees the declaration committed when the row is written.
    """CREATE FUNCTION benben_search_vector(collection text, document jsonb, deleted boolean)
       RETURNS tsvector LANGUAGE plpgsql AS $$
    DECLARE
        fields json;
        language text;
    BEGIN
        IF deleted OR document IS NULL THEN
            RETURN NULL;
        END IF;
        SELECT c.searchable_fields, c.search_language INTO fields, language
          FROM benben_collections AS c WHERE c.id = collection;
        IF fields IS NULL OR json_array_length(fields) = 0 THEN
            RETURN NULL;
        END IF;
        RETURN to_tsvector(
            language::regconfig,
            benben_search_text(document, ARRAY(SELECT json_array_elements_text(fields)))
        );
    END
    $$""",
    "ALTER TABLE benben_records ADD COLUMN search_vector tsvector",
    """CREATE FUNCTION benben_record_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector := benben_search_vector(NEW.collection_id, NEW.data, NEW.deleted);
        RETURN NEW;
    END
    $$""",
    """CREATE TRIGGER benben_record_search_vector
       BEFORE INSERT OR UPDATE OF data, deleted ON benben_records
       FOR EACH ROW EXECUTE FUNCTION benben_record_search_vector()""",
    """CREATE TABLE benben_search_vectors (
        collection_id varchar(64) NOT NULL,
        generation integer NOT NULL,
        ready boolean NOT NULL,
        searchable_fields json,
        search_language varchar(32),
        CONSTRAINT pk_benben_search_vectors PRIMARY KEY (collection_id),
        CONSTRAINT fk_benben_search_vectors_collection_id_benben_collections
            FOREIGN KEY (collection_id) REFERENCES benben_collections (id) ON DELETE CASCADE
    )""",
)
_POSTGRESQL_DOWNGRADE = (
    "DROP TABLE IF EXISTS benben_search_vectors",
    "DROP TRIGGER IF EXISTS benben_record_search_vector ON benben_records",
    "DROP FUNCTION IF EXISTS benben_record_search_vector()",
    "ALTER TABLE benben_records DROP COLUMN IF EXISTS search_vector",
    "DROP FUNCTION IF EXISTS benben_search_vector(text, jsonb, boolean)",
    "DROP FUNCTION IF EXISTS benben_search_text(jsonb, text[])",
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
        for statement in _POSTGRESQL_DOWNGRADE:
            op.execute(statement)
    # Not batch mode: recreating benben_collections would cascade to every record (SQLite
    # drops columns in place since 3.35).
    op.drop_column("benben_collections", "search_language")
    op.drop_column("benben_collections", "searchable_fields")
