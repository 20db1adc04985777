"""``benben plugin check PATH`` (being written by its owner)."""

from __future__ import annotations

import argparse

from benben.cli.common import CommandError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="the plugin's project directory")


def run(args: argparse.Namespace) -> int:
    raise CommandError("benben plugin check is not available yet")
