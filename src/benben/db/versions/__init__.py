"""Core's Alembic revisions (version table ``benben_version_core``)."""
