"""What every ``benben`` command shares: the ``--ini`` option, reading settings from a PasteDeploy
file, and the error that ends a command with a one-line reason."""

from __future__ import annotations

import argparse
import configparser
import os
from typing import Any

DEFAULT_APP_NAME = "main"

# Exit codes: 1 for a failure at run time, 2 for bad input (options, ini file, settings).
EXIT_FAILURE = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """Ends a command: ``benben: error: <message>`` on stderr and ``exit_code``."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def add_ini_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ini",
        metavar="FILE",
        help="PasteDeploy ini file; settings come from its [app:main] section "
        "(FILE#NAME for [app:NAME]). Default: the embedded defaults, no file needed. "
        "BENBEN_* environment variables override both.",
    )


def split_ini(ini: str) -> tuple[str, str]:
    """``path#name`` -> ``(absolute path, name)``; the file must exist."""
    path, _, name = ini.partition("#")
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise CommandError(f"ini file {path} does not exist", EXIT_USAGE)
    return path, name or DEFAULT_APP_NAME


def get_loader(path: str) -> Any:
    import plaster

    try:
        return plaster.get_loader(path, protocols=["wsgi"])
    except plaster.PlasterError as exc:
        raise CommandError(
            f"cannot read {path}: {one_line(exc)} (a PasteDeploy file's name ends with .ini)",
            EXIT_USAGE,
        ) from None


def read_section(path: str, section: str, *, required: bool) -> dict[str, Any]:
    """The options of one section of a PasteDeploy file, ``%(here)s`` interpolated."""
    loader = get_loader(path)
    try:
        if section not in loader.get_sections():
            if required:
                raise CommandError(f"{path} has no [{section}] section", EXIT_USAGE)
            return {}
        return dict(loader.get_settings(section))
    except configparser.Error as exc:
        raise CommandError(f"cannot read {path}: {one_line(exc)}", EXIT_USAGE) from None


def read_app_settings(ini: str | None) -> dict[str, Any]:
    """Raw settings of the ini's ``[app:main]`` section; none for the embedded defaults."""
    if not ini:
        return {}
    path, name = split_ini(ini)
    return read_section(path, f"app:{name}", required=True)


def one_line(exc: BaseException | str) -> str:
    """An error message on one line, however the exception formats itself."""
    return " ".join(str(exc).split())
