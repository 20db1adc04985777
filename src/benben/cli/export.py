"""``benben export COLLECTION``: a collection's records to JSON Lines or CSV.

    benben export books --filter genre=poetry --filter price__lt=20 --format csv -o poetry.csv

The records are read through the data API in this process (see :mod:`benben.transfer`), as
``--as USERNAME`` may read them, by default as the oldest active administrator.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any, TextIO

from benben.cli.common import EXIT_USAGE, CommandError, add_ini_argument

NAME = "export"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="export a collection's records (JSON Lines or CSV)",
        description="Write the records of COLLECTION that the query matches, as the API "
        "returns them (JSON Lines: one record a line; CSV: id, last_modified, then the data's "
        "fields as dotted columns). Runs the data API in this process: the caller's permissions "
        "apply, rate limits do not.",
    )
    add_ini_argument(parser)
    parser.add_argument("collection", metavar="COLLECTION", help="the collection's id")
    parser.add_argument(
        "--format",
        choices=("jsonl", "csv"),
        help="output format (default: csv when --output ends with .csv, else jsonl)",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    parser.add_argument(
        "--filter",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="a filter of the query language, e.g. status=open or price__gt=10 (repeatable)",
    )
    parser.add_argument("--sort", metavar="KEYS", help="_sort, e.g. -price,title (default: id)")
    parser.add_argument("--fields", metavar="FIELDS", help="_fields: only these data members")
    parser.add_argument(
        "--query", metavar="QUERY", help="a raw query string, e.g. 'status=open&_sort=-price'"
    )
    add_transfer_arguments(parser)
    parser.set_defaults(handler=run_export)


def add_transfer_arguments(parser: argparse.ArgumentParser) -> None:
    """What export and import share: who the requests run as, and quiet."""
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USERNAME",
        help="run the requests as this user (username, email or id); default: the oldest "
        "active administrator",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


@contextlib.contextmanager
def transfer_client(args: argparse.Namespace, *, dry_run: bool = False) -> Iterator[Any]:
    """A :class:`benben.transfer.client.Client` on the configured app, as ``--as``; transfer
    refusals end the command on one line."""
    from benben.cli.common import read_app_settings
    from benben.cli.users import checked_settings
    from benben.transfer.client import Client, TransferError, build_app, close_app, find_caller

    checked_settings(args.ini, create=None)
    app = build_app(read_app_settings(args.ini))
    try:
        caller = find_caller(app.registry, args.as_user)
        yield Client(app, caller, dry_run=dry_run)
    except TransferError as exc:
        raise CommandError(str(exc), exc.exit_code) from None
    finally:
        close_app(app)


def run_export(args: argparse.Namespace) -> int:
    from benben.backup.progress import make_progress
    from benben.transfer.client import TransferError
    from benben.transfer.export import export_records, query_parameters

    output_format = args.format or (
        "csv" if args.output and args.output.lower().endswith(".csv") else "jsonl"
    )
    try:
        params = query_parameters(args.filter, args.sort, args.fields, args.query)
    except TransferError as exc:
        raise CommandError(str(exc), exc.exit_code) from None
    progress = make_progress(enabled=not args.quiet)
    with transfer_client(args) as client, _output(args.output) as output:
        result = export_records(
            client,
            args.collection,
            output,
            format=output_format,
            params=params,
            progress=progress,
        )
    where = args.output or "stdout"
    progress.note(f"benben: exported {result.records:,} records of {result.collection} to {where}")
    return 0


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    """stdout, or a temporary file renamed to ``path`` once complete: an export that fails
    leaves no half file behind (nor replaces an older complete one)."""
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CommandError(f"cannot write {path}: no directory {directory}", EXIT_USAGE)
    descriptor, temporary = tempfile.mkstemp(prefix=".benben-export-", dir=directory)
    try:
        with open(descriptor, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
