"""``benben import COLLECTION FILE``: JSON Lines or CSV into a collection, line by line checked.

    benben import books books.jsonl --report rejected.jsonl
    benben import books prices.csv --dry-run

Lines go through the data API in this process (see :mod:`benben.transfer.import_`): refused
lines are reported (``line N: /data/price: must be a number, not "abc"``) and the others
imported; exit 1 when a line was refused.  An interrupted import continues where it stopped
when run again.
"""

from __future__ import annotations

import argparse
from typing import Any

from benben.cli.common import CommandError, add_ini_argument
from benben.cli.export import add_transfer_arguments, transfer_client

NAME = "import"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="import records into a collection (JSON Lines or CSV)",
        description="Create or replace records of COLLECTION from FILE ('-': standard input): "
        "JSON Lines (records as benben export writes them, or bare data objects) or CSV (a "
        "header row; cells converted to the types the collection's schema declares). Each line "
        "is validated as the API validates it; refused lines are reported, the others imported. "
        "Resumable: run the same command again after an interruption.",
    )
    add_ini_argument(parser)
    parser.add_argument("collection", metavar="COLLECTION", help="the collection's id")
    parser.add_argument("file", metavar="FILE", help="the input file, or - for standard input")
    parser.add_argument(
        "--format",
        choices=("jsonl", "csv"),
        help="input format (default: csv when FILE ends with .csv, else jsonl)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="send the same requests in transactions that are rolled back: the same report, "
        "nothing stored",
    )
    parser.add_argument(
        "--report",
        metavar="FILE",
        help='write every refusal to FILE, one JSON object a line: {"line", "pointer", "message"}',
    )
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="where progress is recorded to resume after an interruption "
        "(default: FILE.import-state next to the input; removed when the import ends)",
    )
    add_transfer_arguments(parser)
    parser.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace) -> int:
    import sys

    from benben.backup.progress import format_count, make_progress
    from benben.transfer.client import TransferError
    from benben.transfer.import_ import import_records

    progress = make_progress(enabled=not args.quiet)
    with transfer_client(args, dry_run=args.dry_run) as client:
        try:
            result = import_records(
                client,
                args.collection,
                args.file,
                format=args.format,
                dry_run=args.dry_run,
                state_path=args.state,
                report_path=args.report,
                progress=progress,
            )
        except TransferError as exc:
            raise CommandError(str(exc), exc.exit_code) from None
    for rejection in result.shown:
        print(rejection.text(), file=sys.stderr)
    more = result.rejections - len(result.shown)
    if more > 0:
        where = f"all of them in {args.report}" if args.report else "--report FILE lists them all"
        print(f"... and {more:,} more ({where})", file=sys.stderr)
    verb = "would import" if args.dry_run else "imported"
    summary = f"{verb} {format_count(result.imported, 'records')} into {result.collection}"
    if result.skipped:
        summary += f", {result.skipped:,} already there (an earlier run imported them)"
    summary += f", {format_count(result.rejected_lines, 'lines')} refused"
    if args.dry_run:
        summary += " (dry run: nothing was stored)"
    print(summary)
    return 1 if result.rejected_lines else 0
