"""Each test's backend resources, and what the tests of one session share to make them cheap.

Per test (:class:`Backends`): its data directory (SQLite), its own PostgreSQL schema and its own
Redis key prefix, all removed afterwards.  Per session, i.e. per xdist worker
(:class:`SessionBackends`): migrated databases.  Running every migration cost more than most
tests' bodies, so a test's database, when still empty, becomes one migrated by the same sources
earlier in the session: on SQLite a copy of a template (the backup API), on PostgreSQL a schema
an earlier test used, emptied back to its migrated state (:mod:`benben.testing_schemas`).  A
database that is not empty, or not the test's own, is migrated as usual.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import sqlite3
import sys
import threading
import uuid
from collections.abc import Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from benben.testing_auth import FAST_PASSWORD_HASHING
from benben.testing_schemas import SchemaPool, quote
from benben.testing_services import postgresql_url, require_postgresql, require_redis

__all__ = ["Backends", "HeadsCache", "SessionBackends", "sources_key"]

# How many tables a database holds: none means never migrated.
_SQLITE_TABLES = "SELECT count(*) FROM sqlite_master WHERE type = 'table'"

SourcesKey = tuple[tuple[str, str, str, tuple[str, ...]], ...]


def sources_key(sources: Sequence[Any], heads: HeadsCache | None = None) -> SourcesKey:
    """What a migrated database is a copy of: each source, its version table and its heads
    (found through ``heads`` when given, see :class:`HeadsCache`)."""
    found = heads.heads if heads is not None else lambda source: tuple(sorted(source.heads()))
    return tuple(
        (source.name, source.location, source.version_table, found(source)) for source in sources
    )


class HeadsCache:
    """Migration sources' heads, read again only when their directory changed.

    Alembic reads and compiles every revision file to find the heads: about a tenth of what
    building a test's app costs, for an answer that does not change during a session unless a
    test writes a revision (then the directory's listing, names, sizes and mtimes, differs)."""

    def __init__(self) -> None:
        self._heads: dict[tuple[str, Hashable], tuple[str, ...]] = {}

    def heads(self, source: Any) -> tuple[str, ...]:
        signature = (source.location, _listing(source.location))
        if signature[1] is None:
            return tuple(sorted(source.heads()))
        if signature not in self._heads:
            self._heads[signature] = tuple(sorted(source.heads()))
        return self._heads[signature]


def _listing(directory: str) -> Hashable | None:
    """What a directory holds, as far as a change of its revisions shows (None: not readable)."""
    try:
        with os.scandir(directory) as entries:
            found = []
            for entry in entries:
                state = entry.stat()
                found.append((entry.name, state.st_size, state.st_mtime_ns))
    except OSError:
        return None
    return tuple(sorted(found))


def _commit_without_flushing(dbapi_connection: Any, _record: Any) -> None:
    # Test schemas need not survive a crash of the server: their commits need not wait for the
    # disk (the tests' own commits still do).
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    dbapi_connection.commit()


class SessionBackends:
    """What the tests of one session share: migrated databases, a connection to PostgreSQL for
    test schemas, and the cleanup a test need not wait for, done in the background."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._admin: Engine | None = None
        self.schemas = SchemaPool(self.admin)
        self._sqlite_templates: dict[SourcesKey, Path] = {}
        self._closing: list[threading.Thread] = []
        # One thread: schemas are emptied (or dropped) in the order their tests ended.
        self._cleanup = ThreadPoolExecutor(1, thread_name_prefix="benben-test-schemas")
        self._releasing: list[Future[None]] = []
        self._entry_points: dict[tuple[str, ...], tuple[importlib.metadata.EntryPoint, ...]] = {}
        self.heads = HeadsCache()

    def plugin_entry_points(self) -> tuple[importlib.metadata.EntryPoint, ...]:
        """The installed plugins' entry points, found once for each ``sys.path``: looking
        through every installed distribution took longer than the rest of start-up."""
        from benben.plugins.loader import ENTRY_POINT_GROUP

        path = tuple(sys.path)
        if path not in self._entry_points:
            found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
            self._entry_points[path] = tuple(found)
        return self._entry_points[path]

    def admin(self) -> Engine:
        """An engine on the server's database, for creating, emptying and dropping schemas."""
        if self._admin is None:
            self._admin = create_engine(postgresql_url())
            event.listen(self._admin, "connect", _commit_without_flushing)
        return self._admin

    def close_later(self, closeable: Any) -> None:
        """``closeable.close()`` in a thread, joined at session end: a Redis version board joins
        its listener, which notices only every half second; no test needs to wait for that."""
        self._closing = [thread for thread in self._closing if thread.is_alive()]
        thread = threading.Thread(target=closeable.close, name="benben-test-close", daemon=True)
        thread.start()
        self._closing.append(thread)

    def migrate_sqlite(self, engine: Engine, sources: Sequence[Any]) -> None:
        """Bring ``engine``'s SQLite database to the sources' heads: when it is empty, as a copy
        of the session's template (migrated and kept by the first such test)."""
        from benben.db.migrations import upgrade

        with engine.connect() as connection:
            tables = connection.execute(text(_SQLITE_TABLES)).scalar_one()
            connection.rollback()
        if tables:
            upgrade(engine, sources)
            return
        key = sources_key(sources, self.heads)
        template = self._sqlite_templates.get(key)
        raw = engine.raw_connection()
        try:
            if template is not None:
                # The backup API writes the pages through SQLite: the app's other connections
                # see the copied database; no file is swapped under them.
                with contextlib.closing(sqlite3.connect(template)) as source:
                    source.backup(raw.driver_connection)
                return
            upgrade(engine, sources)
            template = self.directory / f"template-{len(self._sqlite_templates)}.sqlite"
            with contextlib.closing(sqlite3.connect(template)) as copy:
                raw.driver_connection.backup(copy)
            self._sqlite_templates[key] = template
        finally:
            raw.close()

    def create_schema(self) -> str:
        name = f"test_{uuid.uuid4().hex[:16]}"
        with self.admin().begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {quote(name)}"))
        return name

    def drop_schema(self, name: str) -> None:
        with self.admin().begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {quote(name)} CASCADE"))

    def release_schema(self, name: str, key: Hashable | None) -> None:
        """Empty the schema ``name`` and keep it (when migrated as ``key`` and changed in rows
        only), or drop it: in the background, while the next test starts its app."""
        self.settle(waiting=False)
        self._releasing.append(self._cleanup.submit(self._release, name, key))

    def _release(self, name: str, key: Hashable | None) -> None:
        if key is None or not self.schemas.give_back(key, name):
            self.drop_schema(name)

    def settle(self, *, waiting: bool = True) -> None:
        """Wait for the schemas being released (``waiting``), or only collect those released;
        a release that failed raises here."""
        pending = []
        for release in self._releasing:
            if waiting or release.done():
                release.result()
            else:
                pending.append(release)
        self._releasing = pending

    def close(self) -> None:
        for thread in self._closing:
            thread.join()
        self._closing.clear()
        self._sqlite_templates.clear()
        try:
            self.settle()  # a failed release raises here: the kept schemas go all the same
        finally:
            self._cleanup.shutdown()
            if self._admin is not None:
                self.schemas.close()
                self._admin.dispose()
                self._admin = None


class Backends:
    """Per-test resources on a backend pair, cleaned up by :meth:`close`.

    ``shared``: the session's :class:`SessionBackends` (the ``backends`` fixture passes it);
    without it, databases are created and migrated from scratch and boards closed at once.
    """

    def __init__(
        self, database: str, cache: str, tmp_path: Any, shared: SessionBackends | None = None
    ) -> None:
        self.database = database
        self.cache = cache
        self.tmp_path = tmp_path
        self.shared = shared or SessionBackends(Path(tmp_path))
        self._owns_shared = shared is None
        # PostgreSQL: this test's own schema (created on first use).
        self.schema: str | None = None
        self._schema_key: SourcesKey | None = None  # how its tables were made, when known
        self.cache_prefix = f"benben-test-{uuid.uuid4().hex[:12]}:"
        self._apps: list[Any] = []

    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "benben.data_dir": str(self.tmp_path / "var"),
            "benben.cache.backend": self.cache,
            "benben.cache.prefix": self.cache_prefix,
            "benben.database.auto_migrate": "true",
            # argon2 at production cost takes 0.1 s per app (the dummy hash made at start-up)
            # and per login; tests exercise hashing, not its cost.
            **FAST_PASSWORD_HASHING,
        }
        if self.database == "postgresql":
            settings["benben.database.url"] = self.database_url()
        if self.cache == "redis":
            settings["benben.cache.url"] = require_redis()
        return settings

    def sqlite_path(self) -> Path:
        return (Path(self.tmp_path) / "var" / "benben.sqlite").resolve()

    def database_url(self) -> str:
        if self.database != "postgresql":
            return "sqlite:///" + str(self.sqlite_path())
        base = require_postgresql()
        if self.schema is None:
            self.schema = self.shared.create_schema()
        url = make_url(base).update_query_dict({"options": f"-csearch_path={self.schema}"})
        return url.render_as_string(hide_password=False)

    def migrate(self, registry: Any) -> None:
        """Migrate the database ``registry``'s app uses: this test's own, while still empty,
        from the session's template."""
        from benben.db import get_engine, migration_sources
        from benben.db.migrations import upgrade

        engine, sources = get_engine(registry), migration_sources(registry)
        database, backend = engine.url.database, engine.url.get_backend_name()
        if backend == "sqlite" and database and Path(database).resolve() == self.sqlite_path():
            self.shared.migrate_sqlite(engine, sources)
        elif backend == "postgresql" and self._is_own_schema(engine) and self._schema_is_empty():
            key = sources_key(sources, self.shared.heads)
            schemas, schema = self.shared.schemas, str(self.schema)
            if not schemas.take(key, schema):
                self.shared.settle()  # the previous test's schema may be on its way back
                if not schemas.take(key, schema):
                    upgrade(engine, sources)
                    schemas.remember(key, schema)
            self._schema_key = key
        else:
            upgrade(engine, sources)

    def _is_own_schema(self, engine: Engine) -> bool:
        options = str(engine.url.query.get("options", ""))
        return self.schema is not None and f"-csearch_path={self.schema}" in options.split()

    def _schema_is_empty(self) -> bool:
        with self.shared.admin().connect() as connection:
            tables = connection.execute(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = :schema"),
                {"schema": self.schema},
            ).scalar_one()
            connection.rollback()
        return tables == 0

    def track(self, app: Any) -> None:
        self._apps.append(app)

    def close(self) -> None:
        from benben.cache import version_board
        from benben.db import get_engine, get_replica_engine
        from benben.realtime.dispatcher import DISPATCHER_KEY

        for registry in self._apps:
            dispatcher = registry.get(DISPATCHER_KEY)
            if dispatcher is not None:  # its thread reads the database: ended first
                dispatcher.stop()
            for engine in (get_engine(registry), get_replica_engine(registry)):
                if engine is not None:
                    engine.dispose()
            # Its Redis subscription thread, when one started.
            self.shared.close_later(version_board(registry))
        if self.schema is not None:
            self.shared.release_schema(self.schema, self._schema_key)
        if self.cache == "redis":
            import redis

            client = redis.Redis.from_url(require_redis())
            with contextlib.closing(client):
                keys = list(client.scan_iter(match=self.cache_prefix + "*", count=1000))
                if keys:
                    client.delete(*keys)
        if self._owns_shared:
            self.shared.close()
