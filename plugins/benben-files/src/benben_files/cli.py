"""``benben files sweep [--dry-run]`` and ``benben files ls``, added through ``benben.commands``.

``sweep`` runs the orphan sweep now, in this process (what the worker runs every
``benben.files.sweep_interval_seconds``), and prints its report; ``--dry-run`` only counts.
``ls`` lists the attachments (collection, record, name, size, type, sha256), from the database,
in a stable order (:mod:`.inventory`).  Both read the server's settings (``--ini``,
``BENBEN_*``).  The module stays light: every ``benben`` command imports it to build its help.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from benben.plugin import CommandError, Router, add_ini_argument, command_app

__all__ = ["register"]

EXIT_USAGE = 2
ACTIONS = ("sweep", "ls")


def register(parser: argparse.ArgumentParser) -> None:
    """Attachments: run the orphan sweep now, list the files."""
    parser.description = (
        "The files plugin's maintenance: the orphan sweep the worker runs periodically, and "
        "the list of attachments (see docs/files.md)."
    )
    parser.set_defaults(handler=_missing_action)
    actions = parser.add_subparsers(title="files commands", dest="files_command", metavar="ACTION")
    sweep = actions.add_parser(
        "sweep",
        help="remove orphaned files now (what nothing references, older than the grace period)",
        description="Remove the attachments of deleted records, the contents no attachment "
        "references and the stored objects no row names, once older than "
        "benben.files.orphan_grace_hours; print what was removed.",
    )
    add_ini_argument(sweep)
    sweep.add_argument(
        "--dry-run", action="store_true", help="count what would be removed, remove nothing"
    )
    sweep.add_argument("--json", action="store_true", help="print the report as JSON")
    sweep.set_defaults(handler=run_sweep)
    listing = actions.add_parser(
        "ls",
        help="list the attachments",
        description="One line per attachment, by collection, record and name: collection, "
        "record, name, size in bytes, content type, sha256 (tab-separated).",
    )
    add_ini_argument(listing)
    listing.add_argument("--collection", metavar="ID", help="only this collection's")
    listing.add_argument("--json", action="store_true", help="print JSON lines")
    listing.set_defaults(handler=run_ls)


def _missing_action(args: argparse.Namespace) -> int:
    raise CommandError(
        f"a files command is required: {', '.join(ACTIONS)} (see 'benben files --help')",
        EXIT_USAGE,
    )


@contextmanager
def _instance(ini: str | None) -> Iterator[Router]:
    """The configured app; the plugin must be enabled."""
    from .settings import SETTINGS_KEY

    with command_app(ini) as app:
        if app.registry.get(SETTINGS_KEY) is None:
            raise CommandError("the files plugin is not enabled (see 'benben plugins')", EXIT_USAGE)
        yield app


def run_sweep(args: argparse.Namespace) -> int:
    from benben.plugin import TaskContext

    from .sweep import TASK, sweep

    with _instance(args.ini) as app:
        report = sweep(TaskContext(app.registry, TASK), dry_run=args.dry_run)
    counts = report.as_dict()
    if args.json:
        print(json.dumps({**counts, "dry_run": args.dry_run}))
        return 0
    verb = "would remove" if args.dry_run else "removed"
    print(
        f"{verb} {counts['attachments']} attachment(s) of deleted records, "
        f"{counts['blobs']} unreferenced content(s), {counts['objects']} stored object(s), "
        f"{counts['bytes']} bytes"
    )
    return 0


def run_ls(args: argparse.Namespace) -> int:
    from benben.plugin import TaskContext

    from .inventory import iter_attachments

    with (
        _instance(args.ini) as app,
        TaskContext(app.registry, "files.ls").transaction(readonly=True) as request,
    ):
        for entry in iter_attachments(request.dbsession, collection_id=args.collection):
            if args.json:
                line = json.dumps(
                    {
                        "collection": entry.collection_id,
                        "record": entry.record_id,
                        "name": entry.name,
                        "size": entry.size,
                        "content_type": entry.content_type,
                        "sha256": entry.sha256,
                        "last_modified": entry.last_modified,
                    },
                    ensure_ascii=False,
                )
            else:
                fields = (entry.collection_id, entry.record_id, _printable(entry.name))
                line = "\t".join((*fields, str(entry.size), entry.content_type, entry.sha256))
            sys.stdout.write(line + "\n")
    return 0


def _printable(name: str) -> str:
    # Names have no control characters (uploads refuse them); tabs would still break columns.
    return name.replace("\t", " ")
