"""Commands that plugins add to ``benben``: entry points in the group ``benben.commands``.

The entry point's name is the command (``benben backstage ...``); it names a callable that
receives the command's own ``argparse`` parser, adds its arguments (or sub-commands) and sets
``handler=function(args) -> exit code`` with ``parser.set_defaults``.  Core's commands cannot be
replaced, and a plugin command that fails to load breaks only itself: ``benben --help`` and every
other command keep working, and running the broken one says why on one line.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
from collections.abc import Callable, Iterable
from typing import Any

from benben.cli.common import EXIT_FAILURE, EXIT_USAGE, CommandError, one_line

__all__ = ["COMMAND_GROUP", "add_plugin_commands"]

COMMAND_GROUP = "benben.commands"
COMMAND_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")


def add_plugin_commands(
    commands: Any,
    taken: Iterable[str],
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
) -> list[str]:
    """Add every ``benben.commands`` entry point to ``commands`` (argparse sub-parsers) unless
    its name is in ``taken`` (core's) or not a command name; return the names added."""
    if entry_points is None:
        entry_points = importlib.metadata.entry_points(group=COMMAND_GROUP)
    reserved = set(taken)
    added: list[str] = []
    for ep in sorted(entry_points, key=lambda e: e.name):
        if ep.name in reserved or not COMMAND_NAME.fullmatch(ep.name):
            continue
        reserved.add(ep.name)
        source = f"{ep.value} ({ep.dist.name})" if ep.dist else ep.value
        try:
            register = ep.load()
        except Exception as exc:
            _broken(commands, ep.name, f"cannot import {source}: {_describe(exc)}")
            added.append(ep.name)
            continue
        doc = (getattr(register, "__doc__", None) or "").strip()
        parser = commands.add_parser(
            ep.name, help=doc.splitlines()[0] if doc else f"added by {source}", description=doc
        )
        parser.set_defaults(handler=_usage(ep.name))
        try:
            register(parser)
        except Exception as exc:
            parser.set_defaults(
                handler=_failing(f"command {ep.name!r}: {source} failed: {_describe(exc)}")
            )
        added.append(ep.name)
    return added


def _broken(commands: Any, name: str, reason: str) -> None:
    parser = commands.add_parser(name, help=f"(broken) {reason}", add_help=True)
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(handler=_failing(f"command {name!r}: {reason}"))


def _failing(message: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        raise CommandError(message, EXIT_FAILURE)

    return handler


def _usage(name: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        raise CommandError(f"see 'benben {name} --help'", EXIT_USAGE)

    return handler


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {one_line(exc)}"
