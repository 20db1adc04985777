"""``benben data purge``: delete tombstones and history entries past their retention.

Run it daily (cron, a systemd timer, a Kubernetes CronJob) with the server's settings::

    benben data purge --ini production.ini

The retention settings are ``benben.data.tombstone_retention_days`` and
``benben.data.history_retention_days`` (0: keep forever).
"""

from __future__ import annotations

import argparse
from typing import Any

from benben.cli.common import EXIT_USAGE, CommandError, add_ini_argument

NAME = "data"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="maintain the data API's tables (purge tombstones and history past retention)",
        description="Maintain the data API's tables.",
    )
    parser.set_defaults(handler=_missing_subcommand)
    actions = parser.add_subparsers(title="data commands", dest="data_command", metavar="ACTION")
    purge = actions.add_parser(
        "purge",
        help="delete tombstones and history entries older than their retention settings",
        description="Delete deleted records' tombstones older than "
        "benben.data.tombstone_retention_days and history entries older than "
        "benben.data.history_retention_days (0 keeps them forever). Run it daily.",
    )
    add_ini_argument(purge)
    purge.set_defaults(handler=run_purge)


def _missing_subcommand(args: argparse.Namespace) -> int:
    raise CommandError("a data command is required: purge (see 'benben data --help')", EXIT_USAGE)


def run_purge(args: argparse.Namespace) -> int:
    from benben.cli.users import account_request
    from benben.data.retention import purge

    with account_request(args.ini) as request:
        counts = purge(request.dbsession, request.registry.settings)
    print(f"purged {counts['tombstones']} tombstones and {counts['history']} history entries")
    return 0
