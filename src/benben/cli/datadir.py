"""Which database a command works on, said out loud; no second, empty one made by accident.

``benben.data_dir`` (default ``./var``) is resolved once, to an absolute path, when the settings
are (:func:`benben.config.load_settings`).  A relative default means "the directory the command
runs in": ``benben users create`` run in another directory than ``benben serve`` would otherwise
make a new, empty database there and leave the server's without its administrator.

So ``benben serve`` records the data directory of the embedded database it serves in a small
state file (``$XDG_STATE_HOME/benben/data-dir``, by default ``~/.local/state/benben/data-dir``),
and a command that would create a new embedded database refuses, naming the existing one, while
that one still exists, unless given ``--create``.  Commands print the database they use on stderr
(stdout stays the command's own output, e.g. ``--json``).  Only the embedded SQLite default is
concerned: a database URL names its database.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benben.cli.common import EXIT_USAGE, CommandError
from benben.files import PRIVATE_DIRECTORY_MODE

__all__ = [
    "add_create_argument",
    "check_database",
    "core_settings",
    "describe_database",
    "embedded_database",
    "record_data_dir",
    "recorded_data_dir",
    "state_file",
]

STATE_NAME = "data-dir"


def add_create_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--create",
        action="store_true",
        help="create a new embedded database in the data directory even though the one "
        "benben serve last used is elsewhere (without it, the command refuses)",
    )


def state_file(environ: Mapping[str, str] | None = None) -> Path:
    """Where ``benben serve`` records its data directory (XDG Base Directory: state)."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "benben" / STATE_NAME


def embedded_database(settings: Mapping[str, Any]) -> Path | None:
    """The embedded SQLite file the settings use, or None when a database URL is set."""
    if settings.get("benben.database.url"):
        return None
    return Path(settings["benben.data_dir"]) / "benben.sqlite"


def describe_database(settings: Mapping[str, Any]) -> str:
    """``SQLite <path>`` or the URL with its password hidden."""
    from benben.db import database_url

    database = embedded_database(settings)
    if database is not None:
        return f"SQLite {database}"
    return database_url(settings).render_as_string(hide_password=True)


def recorded_data_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The data directory ``benben serve`` last served an embedded database from, if known."""
    try:
        text = state_file(environ).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return Path(text) if text and os.path.isabs(text) else None


def record_data_dir(
    data_dir: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> None:
    """Remember ``data_dir`` as the one in use; a state file that cannot be written is skipped
    (a read-only home must not stop a server)."""
    path = state_file(environ)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIRECTORY_MODE)
        temporary = path.with_name(f".{STATE_NAME}.{os.getpid()}")
        temporary.write_text(f"{os.path.abspath(data_dir)}\n", encoding="utf-8")
        os.replace(temporary, path)  # whole or not at all, whoever writes at the same time


def core_settings(
    raw: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Core's settings from an ini's raw ``[app:main]`` and the environment, without composing
    the app: enough to check the database before anything (a generated secret...) is written."""
    from benben.core_settings import CORE_SETTINGS
    from benben.settings import PREFIX, resolve_settings

    values = resolve_settings(raw, environ, CORE_SETTINGS, open_namespaces=(PREFIX,)).values
    values["benben.data_dir"] = os.path.abspath(os.path.expanduser(values["benben.data_dir"]))
    return values


def check_database(
    settings: Mapping[str, Any], *, create: bool | None, announce: bool = True
) -> None:
    """Say on stderr which database the command uses; refuse to create a new embedded one while
    the one ``benben serve`` last used exists elsewhere, unless ``create`` (None: the command has
    no ``--create``, as creating a database is never what it is for); ``announce`` False: the
    command names the database itself."""
    database = embedded_database(settings)
    if database is None or database.exists():
        if announce:
            print(f"benben: database: {describe_database(settings)}", file=sys.stderr)
        return
    known = recorded_data_dir()
    data_dir = database.parent
    if known is not None and known != data_dir and (known / database.name).exists() and not create:
        instead = "" if create is None else (
            f", or add --create to create a new, empty database in {data_dir}"
        )  # fmt: skip
        raise CommandError(
            f"no database in {data_dir}, and benben serve last used the one in {known}: run "
            f"this command in {known.parent} (or set BENBEN_DATA_DIR={known}, or give --ini)"
            f"{instead}",
            EXIT_USAGE,
        )
    print(f"benben: creating a new database: SQLite {database}", file=sys.stderr)
    record_data_dir(data_dir)
