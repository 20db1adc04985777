"""``benben backup``: one archive of everything Benben owns, taken while the server keeps serving;
``benben backup verify ARCHIVE``: check an archive without restoring it (docs/backups.md).

The archive's location and figures go to stdout, progress and warnings to stderr.
"""

from __future__ import annotations

import argparse
from typing import Any

from benben.cli.common import EXIT_FAILURE, EXIT_USAGE, CommandError, add_ini_argument

NAME = "backup"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="write a backup archive of the database and files (or verify one)",
        description="Write one archive of core's and every plugin's tables and files: a "
        "consistent snapshot taken while the server keeps serving. 'benben backup verify "
        "ARCHIVE' checks an archive without restoring it.",
    )
    add_ini_argument(parser)
    parser.add_argument(
        "--output",
        metavar="FILE|DIR|s3://BUCKET/PREFIX",
        help="where the archive goes: a file name ending in .tar, a directory (an existing one, "
        "or a path ending with /) or an S3 prefix; in a directory or S3 prefix the archive is "
        "named benben-backup-<UTC time>Z.tar. Default: the benben.backup.target setting "
        "(empty: the backups directory in the data directory)",
    )
    parser.add_argument(
        "--keep-daily",
        type=_count,
        metavar="N",
        help="afterwards, delete the target's older archives (benben-backup-*.tar) but the "
        "newest of each of the last N days (and of --keep-weekly's weeks)",
    )
    parser.add_argument(
        "--keep-weekly",
        type=_count,
        metavar="M",
        help="with --keep-daily: keep the newest of each of the last M ISO weeks besides",
    )
    _add_quiet(parser)
    parser.set_defaults(handler=run_backup)
    actions = parser.add_subparsers(
        title="backup commands", dest="backup_command", metavar="verify"
    )
    verify = actions.add_parser(
        "verify",
        help="check an archive (checksums, manifest, every member readable) without restoring",
        description="Check an archive: its manifest, every member present in order with its "
        "size and sha256, every table's rows readable as the manifest's columns, the files "
        f"and their index. Exit {EXIT_FAILURE} naming the first problem.",
    )
    verify.add_argument("archive", metavar="ARCHIVE", help="a .tar file or s3://bucket/key")
    add_ini_argument(verify)
    _add_quiet(verify)
    verify.set_defaults(handler=run_verify)


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet", action="store_true", help="no progress on stderr (warnings and errors still)"
    )


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {number}")
    return number


def run_backup(args: argparse.Namespace) -> int:
    from benben.backup.dump import create_backup
    from benben.backup.format import ArchiveError
    from benben.backup.progress import format_count, make_progress
    from benben.backup.retention import apply_retention
    from benben.backup.targets import BackupError, open_target
    from benben.cli.common import read_app_settings
    from benben.cli.datadir import check_database, core_settings, embedded_database
    from benben.config import configure
    from benben.db import get_engine

    if args.keep_weekly is not None and args.keep_daily is None:
        raise CommandError("--keep-weekly goes with --keep-daily", EXIT_USAGE)
    raw = read_app_settings(args.ini)
    settings = core_settings(raw)
    database = embedded_database(settings)
    if database is not None and not database.exists():
        # Not a new, empty database made only to be archived.
        raise CommandError(
            f"no database in {database.parent}: nothing to back up (run this command where "
            "benben serve runs, set BENBEN_DATA_DIR, or give --ini)",
            EXIT_USAGE,
        )
    check_database(settings, create=None)
    registry = configure(raw).registry
    progress = make_progress(enabled=not args.quiet)
    try:
        result = create_backup(registry, args.output, progress=progress)
        deleted: list[str] = []
        if args.keep_daily is not None:
            target = open_target(registry.settings, args.output)
            deleted = apply_retention(target, args.keep_daily, args.keep_weekly or 0)
    except BackupError as exc:
        raise CommandError(str(exc), EXIT_USAGE if exc.usage else EXIT_FAILURE) from None
    except ArchiveError as exc:
        raise CommandError(str(exc)) from None
    finally:
        get_engine(registry).dispose()
    print(f"archive: {result.location}")
    print(f"size: {format_count(result.size, 'B')} ({result.size:,} bytes)")
    print(f"rows: {result.rows:,} in {result.tables} tables")
    print(f"files: {result.files:,}")
    print(f"time: {result.seconds:.1f} s")
    for name in deleted:
        print(f"deleted (retention): {name}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from benben.backup.format import ArchiveError
    from benben.backup.progress import make_progress
    from benben.backup.targets import BackupError, fetch_archive
    from benben.backup.verify import verify_archive
    from benben.cli.common import read_app_settings
    from benben.cli.datadir import core_settings

    # Only an s3:// location needs settings (the endpoint, the region): no app, no database.
    settings = core_settings(read_app_settings(args.ini))
    progress = make_progress(enabled=not args.quiet)
    try:
        with fetch_archive(settings, args.archive) as local:
            if not local.is_file():
                raise CommandError(f"{args.archive}: no such file", EXIT_USAGE)
            report = verify_archive(str(local), progress=progress)
    except (ArchiveError, BackupError) as exc:
        raise CommandError(f"{args.archive}: {exc}") from None
    print(report.summary())
    return 0
