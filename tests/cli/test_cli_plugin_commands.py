"""Plugins' commands: entry points in ``benben.commands`` become ``benben <name>``; core's names
stay core's, and a broken plugin command breaks only itself."""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import textwrap
from pathlib import Path

import pytest

from benben.cli import ArgumentParser, build_parser
from benben.cli.common import CommandError
from benben.cli.extensions import COMMAND_GROUP, add_plugin_commands

MODULE = '''\
def register(parser):
    """Say hello to someone.

    A longer description.
    """
    parser.add_argument("who")
    parser.set_defaults(handler=lambda args: print(f"hello {args.who}") or 0)


def register_nothing(parser):
    pass


def register_raising(parser):
    raise RuntimeError("no parser today")
'''


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "greeter_commands.py").write_text(textwrap.dedent(MODULE), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def parser_with(*entry_points: tuple[str, str]) -> tuple[ArgumentParser, list[str]]:
    parser = ArgumentParser(prog="benben")
    commands = parser.add_subparsers(dest="command", parser_class=ArgumentParser)
    commands.add_parser("serve").set_defaults(handler=lambda args: 0)
    eps = [importlib.metadata.EntryPoint(n, v, COMMAND_GROUP) for n, v in entry_points]
    return parser, add_plugin_commands(commands, taken=["serve"], entry_points=eps)


def test_a_plugin_command_runs_with_its_own_arguments(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser, added = parser_with(("greet", "greeter_commands:register"))
    assert added == ["greet"]
    args = parser.parse_args(["greet", "Ada"])
    assert args.handler(args) == 0
    assert capsys.readouterr().out == "hello Ada\n"
    # The help line is the first line of the callable's docstring; the rest describes it.
    assert re.search(r"^    greet +Say hello to someone\.$", parser.format_help(), re.MULTILINE)
    with pytest.raises(SystemExit):
        parser.parse_args(["greet", "--help"])
    assert "A longer description." in capsys.readouterr().out


def test_core_names_and_bad_names_are_not_taken(site: Path) -> None:
    parser, added = parser_with(
        ("serve", "greeter_commands:register"), ("Bad_Name", "greeter_commands:register")
    )
    assert added == []
    args = parser.parse_args(["serve"])
    assert args.handler(args) == 0  # core's serve, untouched


@pytest.mark.parametrize(
    ("value", "message", "code"),
    [
        (
            "no_such_module_here:register",
            "command 'broken': cannot import no_such_module_here:register: "
            "ModuleNotFoundError: No module named 'no_such_module_here'",
            1,
        ),
        (
            "greeter_commands:register_raising",
            "command 'broken': greeter_commands:register_raising failed: "
            "RuntimeError: no parser today",
            1,
        ),
        ("greeter_commands:register_nothing", "see 'benben broken --help'", 2),
    ],
)
def test_a_broken_command_says_why_when_run(
    site: Path, value: str, message: str, code: int
) -> None:
    parser, added = parser_with(("broken", value), ("greet", "greeter_commands:register"))
    assert added == ["broken", "greet"]  # the others still load
    args = parser.parse_args(["broken"])
    with pytest.raises(CommandError) as caught:
        args.handler(args)
    assert str(caught.value) == message
    assert caught.value.exit_code == code


def test_installed_plugin_commands_are_in_benben_help() -> None:
    installed = {ep.name for ep in importlib.metadata.entry_points(group=COMMAND_GROUP)}
    subparsers = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    assert installed <= set(subparsers.choices)
    assert {"serve", "migrate", "plugins", "config", "users"} <= set(subparsers.choices)
