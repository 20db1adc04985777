"""The writer across backends: every logical type encoded the same from SQLite and PostgreSQL,
the same rows giving the same table members, and the snapshot: writes committed while the
backup runs are not in it, and are not blocked by it."""

from __future__ import annotations

import datetime
import decimal
import gzip
import threading
import time
import uuid
from contextlib import contextmanager

import pytest
from dump_support import read_archive, seed
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Uuid,
    text,
)

from benben.backup.dump import create_backup
from benben.backup.progress import Progress
from benben.backup.tables import spool_table
from benben.config import configure
from benben.db import get_engine
from benben.testing import Backends

NOW = datetime.datetime(2026, 12, 7, 19, 0, tzinfo=datetime.UTC)

metadata = MetaData()
EVERY_TYPE = Table(
    "backup_test_types",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("s", String(50)),
    Column("t", Text),
    Column("i", BigInteger),
    Column("b", Boolean),
    Column("f", Float),
    Column("d", Numeric(10, 3)),
    Column("j", JSON),
    Column("dt", DateTime),
    Column("dtz", DateTime(timezone=True)),
    Column("day", Date),
    Column("raw", LargeBinary),
    Column("u", Uuid),
    Column("k", Integer, info={"backup_constant": 0}),
)
ROW = {
    "id": 1,
    "s": "zoé ✓ \u2028",
    "t": 'line\nbreak\t"quoted"',
    "i": 2**53 + 1,
    "b": True,
    "f": 0.1,
    "d": decimal.Decimal("12.345"),
    "j": {"z": [1, 2.5, None, False], "a": "日本", "m": {"y": 1, "x": {}}},
    "dt": datetime.datetime(2026, 1, 2, 3, 4, 5, 6),
    # Benben writes UTC (SQLite keeps the wall time and drops the offset: UTC is assumed).
    "dtz": datetime.datetime(2026, 1, 2, 1, 4, 5, 6, tzinfo=datetime.UTC),
    "day": datetime.date(2026, 2, 28),
    "raw": b"\x00\xff\x10",
    "u": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "k": 77,
}
EXPECTED_LINES = [
    '[1,"zoé ✓ \\u2028","line\\nbreak\\t\\"quoted\\"",9007199254740993,true,0.1,"12.345",'
    '{"a":"日本","m":{"x":{},"y":1},"z":[1,2.5,null,false]},"2026-01-02T03:04:05.000006",'
    '"2026-01-02T01:04:05.000006Z","2026-02-28","AP8Q","12345678-1234-5678-1234-567812345678",0]',
    "[2,null,null,null,null,null,null,null,null,null,null,null,null,0]",
]


@pytest.fixture
def other_backend(tmp_path, session_backends):
    """A second database in the same test: ``other_backend("sqlite")`` -> its registry."""
    made = []

    def build(database):
        backends = Backends(database, "memory", tmp_path / f"other-{database}", session_backends)
        made.append(backends)
        config = configure(
            backends.settings(), environ={}, entry_points=session_backends.plugin_entry_points()
        )
        backends.track(config.registry)
        backends.migrate(config.registry)
        return config.registry

    yield build
    for backends in made:
        backends.close()


def test_every_logical_type_is_encoded_the_same_on_each_backend(registry):
    engine = get_engine(registry)
    metadata.create_all(engine)
    try:
        with engine.begin() as connection:
            connection.execute(EVERY_TYPE.insert(), [ROW, dict.fromkeys(ROW) | {"id": 2}])
        counted = []
        with engine.connect() as connection:
            entry, member = spool_table(connection, EVERY_TYPE, counted.append)
            connection.rollback()
    finally:
        metadata.drop_all(engine)
    member.file.seek(0)
    # U+2028 is escaped: str.splitlines() would split a row at the raw character.
    lines = gzip.decompress(member.file.read()).decode().splitlines()
    member.file.close()
    assert lines == EXPECTED_LINES
    assert sum(counted) == 2
    assert [(c["name"], c["type"]) for c in entry["columns"]] == [
        ("id", "integer"), ("s", "string"), ("t", "string"), ("i", "integer"),
        ("b", "boolean"), ("f", "float"), ("d", "decimal"), ("j", "json"), ("dt", "datetime"),
        ("dtz", "datetime_tz"), ("day", "date"), ("raw", "bytes"), ("u", "uuid"),
        ("k", "integer"),
    ]  # fmt: skip
    assert entry["sequence"] is None  # autoincrement=False
    assert entry["rows"] == 2


def test_the_same_rows_make_the_same_members_on_sqlite_and_postgresql(other_backend, tmp_path):
    archives = {}
    for database in ("sqlite", "postgresql"):
        registry = other_backend(database)
        seed(registry)
        result = create_backup(registry, str(tmp_path / f"{database}.tar"), now=NOW)
        archives[database] = read_archive(result.location)
    sqlite, postgresql = archives["sqlite"], archives["postgresql"]
    assert list(sqlite) == list(postgresql)
    for name in sqlite:
        assert sqlite[name].data == postgresql[name].data, name  # manifest.json included
    assert (tmp_path / "sqlite.tar").read_bytes() == (tmp_path / "postgresql.tar").read_bytes()


class WriteDuring(Progress):
    """Progress that runs ``write`` when the backup starts reading ``table`` (the snapshot has
    begun; the table read after it has not been read yet)."""

    def __init__(self, table, write):
        super().__init__(None, enabled=False, terminal=False)  # type: ignore[arg-type]
        self.table, self.write, self.seconds = table, write, None

    @contextmanager
    def task(self, label, total=None, unit="rows"):
        if label == self.table:
            started = time.monotonic()
            self.write()
            self.seconds = time.monotonic() - started
        with super().task(label, total, unit) as bar:
            yield bar


def test_rows_committed_while_the_backup_runs_are_not_in_it(registry, tmp_path, backends):
    engine = get_engine(registry)
    writer = engine.execution_options()  # the same pool: another connection than the backup's

    def commit_a_collection():
        # In a thread with a short timeout: a backup that blocked writers would fail it.
        failures = []

        def write():
            try:
                with writer.begin() as connection:
                    if backends.database == "sqlite":
                        connection.exec_driver_sql("PRAGMA busy_timeout = 1000")
                    connection.execute(
                        text(
                            "INSERT INTO benben_collections (id, title, description, "
                            "indexed_fields, permissions, created_at, updated_at, "
                            "last_modified, record_count) VALUES ('late', '', '', '[]', '{}', "
                            ":now, :now, 1, 0)"
                        ),
                        {"now": NOW},
                    )
            except Exception as exc:  # reported below
                failures.append(exc)

        thread = threading.Thread(target=write)
        thread.start()
        thread.join(10)
        assert not thread.is_alive()
        assert failures == []

    progress = WriteDuring("benben_users", commit_a_collection)
    result = create_backup(registry, str(tmp_path / "out.tar"), now=NOW, progress=progress)

    assert progress.seconds is not None
    assert progress.seconds < 1.0  # the writer did not wait for the backup
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM benben_collections")) == 1
    collections = read_archive(result.location)["tables/benben_collections.jsonl.gz"]
    assert collections.lines() == []
    tables = {t["name"]: t for p in result.manifest["participants"] for t in p["tables"]}
    assert tables["benben_collections"]["rows"] == 0
