"""The ``benben`` command: serve, migrate, plugins, config, shell, plugin, users, data, export,
import, backup, restore, worker, scheduler.

Every failure ends with one line on stderr (``benben: error: ...``) and a non-zero exit code:
2 for bad input (options, ini file, settings), 1 for failures at run time.  ``--traceback`` shows
the full traceback instead, for bug reports.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import NoReturn

# Known import-time warnings of our dependencies would otherwise print on every command:
# WebOb 1.8 imports the deprecated stdlib `cgi`; Pyramid 2.1 imports pkg_resources (we pin
# setuptools < 82), which then warns about PasteDeploy's old-style `paste` namespace package.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
    warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
    warnings.filterwarnings("ignore", "Deprecated call to `pkg_resources.declare_namespace")
    import pyramid.asset  # noqa: F401
    import webob.compat  # noqa: F401

from pyramid.exceptions import ConfigurationError

from benben.cli import (
    backup,
    config,
    data,
    export,
    import_,
    migrate,
    plugin,
    plugins,
    restore,
    serve,
    shell,
    users,
    worker,
)
from benben.cli.common import EXIT_FAILURE, EXIT_USAGE, CommandError, one_line
from benben.cli.extensions import add_plugin_commands
from benben.version import __version__

__all__ = ["main"]

PROG = "benben"
COMMANDS = (
    serve,
    migrate,
    plugins,
    config,
    shell,
    plugin,
    users,
    data,
    export,
    import_,
    backup,
    restore,
    worker,
    worker.SCHEDULER,
)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with usage errors on one line (argparse prints the usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Benben: a self-hosted, plugin-based REST data platform.",
        epilog="Run 'benben COMMAND --help' for a command's options. Without --ini, every "
        "command uses the embedded defaults (SQLite in ./var of the current directory, "
        "in-process cache); commands refuse to create a second database elsewhere than the one "
        "benben serve uses, unless given --create.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="on failure, show the full Python traceback (for bug reports)",
    )
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", parser_class=ArgumentParser
    )
    for module in COMMANDS:
        module.register(commands)
    # Plugins' commands (entry point group benben.commands); core's names stay core's.
    add_plugin_commands(commands, taken=[module.NAME for module in COMMANDS])
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``benben`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        return _fail(f"a command is required: {_command_names()} (see 'benben --help')", EXIT_USAGE)
    try:
        code = int(args.handler(args))
        if argv is None and args.command == serve.NAME:  # this process is `benben serve`
            serve.exit_fast(code)
        return code
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:  # `benben config | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as exc:
        if args.traceback:
            raise
        message, code = _describe_failure(exc)
        return _fail(message, code)


def _describe_failure(exc: Exception) -> tuple[str, int]:
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    if isinstance(exc, CommandError):
        return str(exc), exc.exit_code
    if isinstance(exc, ConfigurationError):
        return one_line(exc), EXIT_USAGE
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return f"database: {one_line(exc.orig)}", EXIT_FAILURE
    if isinstance(exc, SQLAlchemyError):
        return f"database: {one_line(exc)}", EXIT_FAILURE
    if isinstance(exc, OSError):
        return one_line(exc), EXIT_FAILURE
    return (
        f"unexpected {type(exc).__name__}: {one_line(exc)} (run with --traceback for details)",
        EXIT_FAILURE,
    )


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _command_names() -> str:
    return ", ".join(module.NAME for module in COMMANDS)
