"""The files plugin's Alembic revisions (its own version table, benben_version_files)."""
