"""``benben migrate``: bring the schema of core and every enabled plugin to its head, in order."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from benben.cli.common import EXIT_FAILURE, add_ini_argument, read_app_settings
from benben.cli.datadir import add_create_argument, check_database, core_settings

NAME = "migrate"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="run the database migrations of core and the enabled plugins",
        description="Run the database migrations of core, then of each enabled plugin in "
        "requirement order, and print what changed per source. Safe to run from several "
        "processes at once (PostgreSQL serialises them).",
    )
    add_ini_argument(parser)
    add_create_argument(parser)
    parser.add_argument(
        "--status",
        action="store_true",
        help="only show each source's current and head revision, changing nothing; "
        f"exit {EXIT_FAILURE} if any is behind",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from benben.config import configure
    from benben.db import get_engine, migration_sources

    raw = read_app_settings(args.ini)
    check_database(core_settings(raw), create=args.create, announce=False)
    registry = configure(raw).registry
    engine = get_engine(registry)
    try:
        sources = migration_sources(registry)
        print(f"database: {engine.url.render_as_string(hide_password=True)}")
        if args.status:
            return _status(engine, sources)
        return _upgrade(engine, sources)
    finally:
        engine.dispose()


def _upgrade(engine: Any, sources: list[Any]) -> int:
    from benben.db.migrations import upgrade

    for result in upgrade(engine, sources):
        if result.changed:
            print(f"{result.name}: {_revisions(result.before)} -> {_revisions(result.after)}")
        else:
            print(f"{result.name}: up to date ({_revisions(result.after)})")
    return 0


def _status(engine: Any, sources: list[Any]) -> int:
    from benben.db.migrations import pending

    with engine.connect() as connection:
        rows = [(source, source.current(connection), source.heads()) for source in sources]
        connection.rollback()
    for source, current, heads in rows:
        state = "up to date" if current == heads else "BEHIND (run benben migrate)"
        print(f"{source.name}: at {_revisions(current)}, head {_revisions(heads)}: {state}")
    behind = pending(engine, sources)
    return EXIT_FAILURE if behind else 0


def _revisions(revisions: Iterable[str]) -> str:
    return ", ".join(sorted(revisions)) or "none"
