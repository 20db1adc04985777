"""``benben users``: create the first administrator, list users, reset passwords, (de)activate.

A newcomer's first command after installing::

    benben users create --admin admin        # asks for the password twice

Passwords never go on the command line (they would land in shell history and ``ps``): they are
asked for twice on the terminal, or read from a file (``--password-file``, first line) or an
environment variable (``--password-env VAR``) for automation.  The same rules as the REST API
apply (username pattern, email syntax, password policy), and the same guard: the last active
administrator cannot be deactivated.

The embedded default's database is migrated first, so ``benben users create`` works before the
first ``benben serve``.  Setting a password or deactivating a user ends their sessions at once,
on a running server too: with Redis it hears of the change there; with the in-process cache,
through the database's auth epoch (see :mod:`benben.security.epoch`).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from benben.cli.common import EXIT_FAILURE, EXIT_USAGE, CommandError, add_ini_argument
from benben.cli.datadir import add_create_argument, check_database, core_settings

NAME = "users"
SUBCOMMANDS = ("create", "list", "set-password", "deactivate", "activate")
PASSWORD_ATTEMPTS = 3  # on a terminal: a typo is asked again, a script's loop is not endless


def register(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="manage user accounts (first administrator, passwords, activation)",
        description="Manage user accounts in the database the settings name. Start with "
        "'benben users create --admin admin' to create the first administrator.",
    )
    parser.set_defaults(handler=_missing_subcommand)
    actions = parser.add_subparsers(title="user commands", dest="users_command", metavar="ACTION")

    create = actions.add_parser("create", help="create a user (--admin: an administrator)")
    add_ini_argument(create)
    add_create_argument(create)
    create.add_argument("username", metavar="USERNAME")
    create.add_argument("--admin", action="store_true", help="make the user an administrator")
    create.add_argument("--email", help="email address (also accepted to log in)")
    create.add_argument("--display-name", default="", help="name shown to people")
    _add_password_sources(create)
    create.set_defaults(handler=run_create)

    listing = actions.add_parser("list", help="list users")
    add_ini_argument(listing)
    add_create_argument(listing)
    listing.add_argument("--json", action="store_true", help="one JSON document")
    listing.set_defaults(handler=run_list)

    set_password = actions.add_parser(
        "set-password", help="set a user's password (ends their sessions)"
    )
    add_ini_argument(set_password)
    add_create_argument(set_password)
    set_password.add_argument("username", metavar="USERNAME", help="username or email")
    _add_password_sources(set_password)
    set_password.set_defaults(handler=run_set_password)

    for action, help_text in (
        ("deactivate", "deactivate a user: they cannot log in, their sessions end"),
        ("activate", "reactivate a user"),
    ):
        sub = actions.add_parser(action, help=help_text)
        add_ini_argument(sub)
        add_create_argument(sub)
        sub.add_argument("username", metavar="USERNAME", help="username or email")
        sub.set_defaults(handler=run_set_active, active=action == "activate")


def _add_password_sources(parser: argparse.ArgumentParser) -> None:
    sources = parser.add_mutually_exclusive_group()
    sources.add_argument(
        "--password-file", metavar="FILE", help="read the password from FILE's first line"
    )
    sources.add_argument(
        "--password-env", metavar="VAR", help="read the password from environment variable VAR"
    )


def _missing_subcommand(args: argparse.Namespace) -> int:
    raise CommandError(
        f"a users command is required: {', '.join(SUBCOMMANDS)} (see 'benben users --help')",
        EXIT_USAGE,
    )


# -- commands -------------------------------------------------------------------------------


def run_create(args: argparse.Namespace) -> int:
    from benben.accounts.services import create_user

    settings = checked_settings(args.ini, create=args.create)  # before asking for a password
    password = read_password(args, settings)
    with account_request(args.ini, checked=True) as request:
        user = create_user(
            request,
            username=args.username,
            password=password,
            email=args.email,
            display_name=args.display_name,
            is_admin=args.admin,
        )
        role = "administrator" if user.is_admin else "user"
        message = f"created {role} {user.username} (id {user.id})"
    print(message)
    print('log in with POST /api/v1/auth/login {"username": ..., "password": ...}')
    return 0


def run_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from benben.accounts.models import User
    from benben.accounts.services import NO_COLLECTIONS_USER, group_names_by_user, user_json

    with account_request(args.ini, commit=False, create=args.create) as request:
        users = list(
            request.dbsession.scalars(
                select(User).options(*NO_COLLECTIONS_USER).order_by(User.username)
            )
        )
        groups = group_names_by_user(request.dbsession, [user.id for user in users])
        rows = [user_json(user, groups[user.id]) for user in users]
    if args.json:
        print(json.dumps({"users": rows}, indent=2))
        return 0
    if not rows:
        print("no users yet: run 'benben users create --admin admin'")
        return 0
    table = [("USERNAME", "EMAIL", "ROLES", "ACTIVE", "CREATED")]
    for row in rows:
        table.append(
            (
                row["username"],
                row["email"] or "-",
                ",".join(row["roles"]) or "-",
                "yes" if row["is_active"] else "no",
                (row["created_at"] or "")[:19].replace("T", " "),
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
    return 0


def run_set_password(args: argparse.Namespace) -> int:
    from benben.accounts.services import set_password
    from benben.security.sessions import end_other_sessions

    settings = checked_settings(args.ini, create=args.create)
    password = read_password(args, settings)
    with account_request(args.ini, checked=True) as request:
        user = _find(request, args.username)
        set_password(request, user, password)
        end_other_sessions(request, user)
        message = f"password of {user.username} changed; their sessions have ended"
    print(message)
    return 0


def run_set_active(args: argparse.Namespace) -> int:
    from benben.accounts.services import update_user
    from benben.security.sessions import end_other_sessions

    with account_request(args.ini, create=args.create) as request:
        user = _find(request, args.username)
        changed = update_user(request, user, {"is_active": args.active})
        if not args.active and changed:
            end_other_sessions(request, user)
        state = "active" if args.active else "deactivated"
        message = f"{user.username} is {state}" + ("" if changed else " (unchanged)")
    print(message)
    return 0


# -- helpers --------------------------------------------------------------------------------


def read_password(
    args: argparse.Namespace,
    settings: Mapping[str, Any] | None = None,
    prompt: Callable[[str], str] | None = None,
) -> str:
    """From ``--password-file`` (first line), ``--password-env``, or asked twice on a terminal:
    there, a password the policy (``settings``) refuses, or a mistyped repeat, is asked again."""
    if args.password_file:
        try:
            with open(args.password_file, encoding="utf-8") as handle:
                password = handle.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise CommandError(
                f"cannot read password file {args.password_file}: {reason}", EXIT_USAGE
            ) from None
        if not password:
            raise CommandError(f"password file {args.password_file} is empty", EXIT_USAGE)
        return password
    if args.password_env:
        password = os.environ.get(args.password_env)
        if not password:
            raise CommandError(
                f"environment variable {args.password_env} is not set or empty", EXIT_USAGE
            )
        return password
    if not sys.stdin.isatty():
        raise CommandError(
            "no terminal to ask for the password: use --password-file FILE or --password-env VAR",
            EXIT_USAGE,
        )
    return _ask_password(prompt or getpass.getpass, settings)


def _ask_password(ask: Callable[[str], str], settings: Mapping[str, Any] | None) -> str:
    from benben.security.passwords import check_password_policy

    problem = ""
    for _attempt in range(PASSWORD_ATTEMPTS):
        if problem:
            print(f"{problem}; try again", file=sys.stderr)
        first = ask("Password: ")
        if not first:
            problem = "no password given"
            continue
        refused = check_password_policy(first, settings) if settings is not None else []
        if refused:
            problem = "the password " + "; ".join(refused)
            continue
        if ask("Password (again): ") == first:
            return first
        problem = "the passwords do not match"
    raise CommandError(f"{problem} ({PASSWORD_ATTEMPTS} attempts)", EXIT_USAGE)


def checked_settings(ini: str | None, *, create: bool | None) -> dict[str, Any]:
    """Core's settings, once the database they name was announced (or refused: see
    :func:`benben.cli.datadir.check_database`)."""
    from benben.cli.common import read_app_settings

    settings = core_settings(read_app_settings(ini))
    check_database(settings, create=create)
    return settings


@contextmanager
def account_request(
    ini: str | None, *, commit: bool = True, create: bool | None = None, checked: bool = False
) -> Iterator[Any]:
    """A scripted request (database session, transaction, cache) on the configured app, with
    the embedded default's database migrated first; committed at the end unless ``commit`` is
    False.  A new embedded database is refused while benben serve's is elsewhere, unless
    ``create`` (see :mod:`benben.cli.datadir`); ``checked``: the caller checked already.
    Refusals (bad input, taken names, last administrator) end the command on one line.
    """
    from pyramid.scripting import prepare
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from benben.accounts.bootstrap import missing_table
    from benben.accounts.validation import AccountsError, ConflictError
    from benben.cli.common import read_app_settings
    from benben.config import configure, should_auto_migrate
    from benben.db import get_engine, migration_sources
    from benben.db.migrations import upgrade

    if not checked:
        checked_settings(ini, create=create)
    registry = configure(read_app_settings(ini)).registry
    engine = get_engine(registry)
    try:
        if should_auto_migrate(registry.settings):
            upgrade(engine, migration_sources(registry))
        environment = prepare(registry=registry)
        request = environment["request"]
        request.tm.begin()
        try:
            yield request
            if commit:
                request.tm.commit()
            else:
                request.tm.abort()
        except AccountsError as exc:
            request.tm.abort()
            code = EXIT_FAILURE if isinstance(exc, ConflictError) else EXIT_USAGE
            raise CommandError(exc.detail, code) from None
        except (OperationalError, ProgrammingError) as exc:
            request.tm.abort()
            if missing_table(exc):
                raise CommandError(
                    "the database has no accounts tables yet: run 'benben migrate' first"
                ) from None
            raise
        except BaseException:
            request.tm.abort()
            raise
        finally:
            environment["closer"]()
    finally:
        engine.dispose()


def _find(request: Any, key: str) -> Any:
    from benben.accounts.services import find_user

    user = find_user(request.dbsession, key)
    if user is None:
        raise CommandError(f"no user {key!r} (see 'benben users list')")
    return user
