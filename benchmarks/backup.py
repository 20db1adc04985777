"""Backup and restore throughput and memory at scale, against PostgreSQL's own tools.

One PostgreSQL database is seeded with ``--records`` records (default 1,000,000) in one
collection, each with the history entry the API writes, plus users, groups and a grant. Then,
in the same run, on the same machine:

- ``pg_dump -Fc`` and ``benben backup`` of that database (records/s, peak RSS, archive size);
- ``pg_restore`` and ``benben restore`` of those into fresh databases (records/s, peak RSS);
- ``benben backup verify`` of the archive;
- with ``--sqlite``: ``benben restore`` of the archive into SQLite and ``benben backup`` of it
  (the way out of, and back to, the embedded default).

Each command runs as its own process; its peak RSS is the kernel's VmHWM, read every 20 ms. The
ratios are Benben's rate over PostgreSQL's tool's (higher is better).

    python benchmarks/backup.py [--records 1000000] [--sqlite]

Needs PostgreSQL at ``BENBEN_TEST_POSTGRESQL_URL`` (default postgresql://postgres@127.0.0.1/test)
with pg_dump/pg_restore of the server's version on PATH. Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

POSTGRESQL = os.environ.get(
    "BENBEN_TEST_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
PASSWORD = "bench-password-1234"  # noqa: S105 - a throwaway benchmark account
SCHEMA = {"type": "object", "required": ["title", "price"], "properties": {
    "title": {"type": "string", "maxLength": 200}, "price": {"type": "number", "minimum": 0},
    "category": {"type": "string", "enum": ["a", "b", "c", "d"]}, "stock": {"type": "integer"},
    "tags": {"type": "array", "items": {"type": "string"}},
}}  # fmt: skip
BENBEN = [sys.executable, "-m", "benben.cli"]


def url(database: str | None = None) -> str:
    address = make_url(POSTGRESQL)
    return (address.set(database=database) if database else address).render_as_string(False)


def libpq_url(database: str) -> str:
    return url(database).replace("postgresql+psycopg://", "postgresql://")


def admin() -> psycopg.Connection[Any]:
    return psycopg.connect(libpq_url(make_url(POSTGRESQL).database or "test"), autocommit=True)


def create_database() -> str:
    name = f"benben_bk_{uuid.uuid4().hex[:10]}"
    with admin() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_database(name: str) -> None:
    with admin() as connection:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        connection.execute(drop.format(sql.Identifier(name)))


@dataclass
class Run:
    """One command's wall time and peak resident memory."""

    seconds: float
    peak_rss_mib: float


def peak_rss_kib(pid: int) -> int | None:
    """The process's peak resident set so far (VmHWM), None once it has exited.  Not wait4's
    ru_maxrss: Linux carries it over exec from the forked copy of this (large) process."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run(command: list[str], env: dict[str, str]) -> Run:
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, peak_rss_kib(process.pid) or 0)
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode})")
    return Run(seconds, peak / 1024)


def environment(data_dir: str, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "BENBEN_DATA_DIR": data_dir,
        "XDG_STATE_HOME": data_dir,
        "BENBEN_LOGGING_LEVEL": "warning",
        "BENBEN_DATABASE_URL": database_url,
        "BENBEN_ADMIN_PASSWORD": PASSWORD,
    }


def seed(database: str, env: dict[str, str], records: int, users: int = 50) -> None:
    """Accounts and the collection through the app; records and their history straight into the
    tables, as the API writes them (100,000 rows a statement)."""
    subprocess.run([*BENBEN, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    from webtest import TestApp

    from benben.config import make_wsgi_app

    settings = {"benben.database.url": url(database), "benben.ratelimit.enabled": "false"}
    previous = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("BENBEN_")})
    try:
        app = TestApp(make_wsgi_app(settings))
    finally:
        os.environ.clear()
        os.environ.update(previous)
    login = {"username": "admin", "password": PASSWORD}
    token = app.post_json("/api/v1/auth/login", login).json["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    for n in range(users):
        body = {"username": f"user{n}", "password": PASSWORD, "email": f"u{n}@example.com"}
        app.post_json("/api/v1/users", body, headers=auth)
    for n in range(5):
        app.post_json("/api/v1/groups", {"name": f"team{n}"}, headers=auth)
    collection = {"id": "bench", "schema": SCHEMA, "indexed_fields": ["price", "category"]}
    app.post_json("/api/v1/collections", collection, headers=auth)
    now = int(time.time() * 1000)
    with psycopg.connect(libpq_url(database), autocommit=True) as db:
        for start in range(0, records, 100_000):
            end = min(start + 100_000, records)
            bounds = {"now": now, "start": start, "end": end}
            db.execute(
                """
                INSERT INTO benben_records
                    (collection_id, id, data, permissions, last_modified, created_by, deleted)
                SELECT 'bench', 'r' || lpad(n::text, 8, '0'),
                       jsonb_build_object('title', 'item number ' || n,
                                          'price', (n::bigint * 7919) %% 100000,
                                          'category', chr(97 + (n %% 4)::int),
                                          'stock', n %% 50,
                                          'tags', jsonb_build_array('t' || n %% 7, 'new')),
                       '{}', %(now)s + n, NULL, false
                FROM generate_series(%(start)s::bigint, %(end)s::bigint - 1) AS n
                """,
                bounds,
            )
            db.execute(
                """
                INSERT INTO benben_history
                    (collection_id, resource, record_id, action, user_id, timestamp, data)
                SELECT 'bench', 'record', 'r' || lpad(n::text, 8, '0'), 'create', NULL,
                       %(now)s + n, jsonb_build_object('title', 'item number ' || n)
                FROM generate_series(%(start)s::bigint, %(end)s::bigint - 1) AS n
                """,
                bounds,
            )
        db.execute(
            "UPDATE benben_collections SET record_count = %(count)s, last_modified = "
            "%(now)s + %(count)s WHERE id = 'bench'",
            {"count": records, "now": now},
        )
        db.execute("VACUUM ANALYZE")
    from benben.db import get_engine

    get_engine(app.app.registry).dispose()  # the seeding app's connections, closed


def same_apart_from_created_at(first: Path, second: Path) -> bool:
    """Whether two archives are the same bytes once their manifests' created_at are."""
    stamps = []
    for path in (first, second):
        with tarfile.open(path) as archive:
            manifest = archive.extractfile("manifest.json")
            assert manifest is not None
            stamps.append(json.load(manifest)["created_at"].encode())
    one, two = first.read_bytes(), second.read_bytes()
    return one.replace(stamps[0], stamps[1]) == two


def table_rows(database: str) -> dict[str, int]:
    with psycopg.connect(libpq_url(database), autocommit=True) as db:
        return {
            table: db.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]  # type: ignore[index]
            for table in ("benben_records", "benben_history", "benben_users")
        }


def line(name: str, result: Run, records: int, size: int | None = None) -> str:
    size_text = f"{size / 2**20:9.1f} MiB" if size is not None else " " * 13
    rate = records / result.seconds
    return (
        f"  {name:34} {result.seconds:8.1f} s {rate:10,.0f} rec/s "
        f"peak RSS {result.peak_rss_mib:7.1f} MiB {size_text}"
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Runs the benchmark; returns each command's Run and the archive's size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=50, help="accounts (argon2-hashed)")
    parser.add_argument("--sqlite", action="store_true", help="also restore into SQLite and back")
    options = parser.parse_args(argv)
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not on PATH")
    work = Path(tempfile.mkdtemp(prefix="benben-backup-bench-"))
    databases: list[str] = []
    try:
        source = create_database()
        databases.append(source)
        env = environment(str(work / "source"), url(source))
        started = time.perf_counter()
        seed(source, env, options.records, options.users)
        print(f"seeded {options.records:,} records in {time.perf_counter() - started:.0f} s: "
              f"{table_rows(source)}")  # fmt: skip
        # What any benben command holds once the app is configured: the floor of the others.
        baseline = run([*BENBEN, "migrate", "--status"], env)
        dump, archive = work / "dump.pgc", work / "archive.tar"
        pg_dump = run(["pg_dump", "-Fc", "-f", str(dump), libpq_url(source)], env)
        backup = run([*BENBEN, "backup", "--quiet", "--output", str(archive)], env)
        verify = run([*BENBEN, "backup", "verify", "--quiet", str(archive)], env)
        restored_pg = create_database()
        databases.append(restored_pg)
        pg_restore = run(["pg_restore", "-d", libpq_url(restored_pg), str(dump)], env)
        target = create_database()
        databases.append(target)
        target_env = environment(str(work / "target"), url(target))
        restore = run([*BENBEN, "restore", "--quiet", str(archive)], target_env)
        if table_rows(target) != table_rows(source):
            raise SystemExit(f"restored rows differ: {table_rows(target)}")
        records = options.records
        print(f"\nPostgreSQL, {records:,} records (+ as many history entries):")
        floor = "benben migrate --status (the floor)"
        print(f"  {floor:34} peak RSS {baseline.peak_rss_mib:.1f} MiB")
        print(line("pg_dump -Fc", pg_dump, records, dump.stat().st_size))
        print(line("benben backup", backup, records, archive.stat().st_size))
        print(line("benben backup verify", verify, records))
        print(line("pg_restore (one job)", pg_restore, records))
        print(line("benben restore", restore, records))
        print(f"  ratio backup/pg_dump:     {pg_dump.seconds / backup.seconds:.2f}")
        print(f"  ratio restore/pg_restore: {pg_restore.seconds / restore.seconds:.2f}")
        results: dict[str, Any] = {
            "floor": baseline,
            "pg_dump": pg_dump,
            "backup": backup,
            "verify": verify,
            "pg_restore": pg_restore,
            "restore": restore,
            "archive_bytes": archive.stat().st_size,
        }
        if options.sqlite:
            sqlite_dir = work / "sqlite"
            sqlite_env = environment(str(sqlite_dir), f"sqlite:///{sqlite_dir}/benben.sqlite")
            sqlite_dir.mkdir()
            into_sqlite = run([*BENBEN, "restore", "--quiet", str(archive)], sqlite_env)
            back = work / "from-sqlite.tar"
            from_sqlite = run([*BENBEN, "backup", "--quiet", "--output", str(back)], sqlite_env)
            print("\nSQLite (the archive restored into the embedded default and backed up):")
            print(line("benben restore into SQLite", into_sqlite, records))
            print(line("benben backup of SQLite", from_sqlite, records, back.stat().st_size))
            results |= {"restore_sqlite": into_sqlite, "backup_sqlite": from_sqlite}
            # The round trip PostgreSQL -> archive -> SQLite -> archive: the same archive.
            results["same_archive"] = same_apart_from_created_at(archive, back)
            print(f"  archives from PostgreSQL and from SQLite the same but for created_at: "
                  f"{'yes' if results['same_archive'] else 'NO'}")  # fmt: skip
        return results
    finally:
        for database in databases:
            drop_database(database)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
