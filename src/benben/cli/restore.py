"""``benben restore ARCHIVE``: an archive into an empty database of either backend, all or
nothing (docs/backups.md)."""

from __future__ import annotations

import argparse
from typing import Any

from benben.cli.common import EXIT_FAILURE, EXIT_USAGE, CommandError, add_ini_argument

NAME = "restore"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="restore a backup archive into an empty database (SQLite or PostgreSQL)",
        description="Restore an archive made by 'benben backup' into the database the settings "
        "name, of either backend (SQLite -> PostgreSQL is how to grow out of the embedded "
        "default). The archive is verified first; the schema is brought to the archive's "
        "migrations, the data loaded, then migrated to this Benben's. All or nothing: a "
        "failure leaves the database as it was. Stop the servers and workers first.",
    )
    parser.add_argument("archive", metavar="ARCHIVE", help="a .tar file or s3://bucket/key")
    add_ini_argument(parser)
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the contents of a database that is not empty (without it, refused)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress on stderr (warnings and errors still)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from benben.backup.format import ArchiveError
    from benben.backup.progress import format_count, make_progress
    from benben.backup.restore import RestoreError, restore_archive
    from benben.backup.targets import BackupError
    from benben.cli.common import read_app_settings
    from benben.cli.datadir import check_database, core_settings
    from benben.config import configure
    from benben.db import get_engine

    if not args.archive.startswith("s3://"):
        import os

        if not os.path.isfile(args.archive):
            raise CommandError(f"{args.archive}: no such file", EXIT_USAGE)
    raw = read_app_settings(args.ini)
    # Restoring is how a new database starts: creating the embedded one is allowed.
    check_database(core_settings(raw), create=True)
    registry = configure(raw).registry
    progress = make_progress(enabled=not args.quiet)
    try:
        result = restore_archive(registry, args.archive, force=args.force, progress=progress)
    except RestoreError as exc:
        raise CommandError(str(exc), EXIT_USAGE if exc.usage else EXIT_FAILURE) from None
    except BackupError as exc:
        raise CommandError(str(exc), EXIT_USAGE if exc.usage else EXIT_FAILURE) from None
    except ArchiveError as exc:
        raise CommandError(f"{args.archive}: {exc}") from None
    finally:
        get_engine(registry).dispose()
    manifest = result.manifest
    for note in result.notes:
        progress.warn(note)
    print(
        f"restored: {args.archive} (made {manifest.created_at} by Benben {manifest.benben_version})"
    )
    print(f"database: {result.database}")
    print(f"rows: {result.rows:,} in {result.tables} tables")
    print(f"files: {result.files:,} ({format_count(result.file_bytes, 'B')})")
    print(f"time: {result.seconds:.1f} s")
    return 0
