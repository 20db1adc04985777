"""Helpers of the plugin backup tests: a third party's plugin written for one test, a second
(empty) database to restore into, and an archive's members read back."""

from __future__ import annotations

import contextlib
import gzip
import importlib
import importlib.metadata
import json
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benben.testing import Backends

PLUGIN_MODULE = """\
import sqlalchemy as sa

from benben.plugin import PluginMetadata

benben_plugin = PluginMetadata(api=1, description="A third party's plugin ({name})")

metadata = sa.MetaData()
notes = sa.Table(
    "{name}_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("tags", sa.JSON, nullable=True),
)


def includeme(config):
    config.add_migrations("{name}:versions")
    if {participant}:
        config.add_backup_participant([notes])
"""

REVISION = """\
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "{name}_notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("tags", sa.JSON, nullable=True),
    )


def downgrade():
    op.drop_table("{name}_notes")
"""


def write_plugin(site: Path, *, participant: bool) -> str:
    """A plugin installed in ``site`` (package + .dist-info) owning the table ``<name>_notes``,
    taking part in backups or not; its name (unique: modules stay imported)."""
    name = f"bkp_{uuid.uuid4().hex[:10]}"
    package = site / name
    (package / "versions").mkdir(parents=True)
    (package / "__init__.py").write_text(PLUGIN_MODULE.format(name=name, participant=participant))
    revision = uuid.uuid4().hex[:12]
    (package / "versions" / f"{revision}_notes.py").write_text(
        REVISION.format(name=name, revision=revision)
    )
    dist_info = site / f"{name}-2.3.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 2.3.0\n")
    (dist_info / "entry_points.txt").write_text(f"[benben.plugins]\n{name} = {name}\n")
    return name


@contextlib.contextmanager
def importable(site: Path) -> Iterator[list[importlib.metadata.EntryPoint]]:
    """``site`` on sys.path for the test; its plugins' entry points."""
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    try:
        found = importlib.metadata.distributions(path=[str(site)])
        yield [ep for dist in found for ep in dist.entry_points if ep.group == "benben.plugins"]
    finally:
        sys.path.remove(str(site))
        importlib.invalidate_caches()


@contextlib.contextmanager
def other_database(backends: Backends, tmp_path: Path) -> Iterator[Backends]:
    """Another, empty database on the same backend (its own SQLite file or PostgreSQL schema),
    removed afterwards: ``make_app(other.settings())`` then ``other.track(registry)``."""
    other = Backends(backends.database, backends.cache, tmp_path / "other", backends.shared)
    (tmp_path / "other").mkdir(exist_ok=True)
    try:
        yield other
    finally:
        other.close()


def manifest_of(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        return json.loads(member.read())


def table_rows(archive: Path, table: str) -> list[list[Any]]:
    with tarfile.open(archive) as tar:
        member = tar.extractfile(f"tables/{table}.jsonl.gz")
        assert member is not None
        return [json.loads(line) for line in gzip.decompress(member.read()).splitlines()]


def member_names(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return tar.getnames()


__all__ = [
    "importable",
    "manifest_of",
    "member_names",
    "other_database",
    "table_rows",
    "write_plugin",
]
