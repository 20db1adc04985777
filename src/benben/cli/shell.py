"""``benben shell``: Python with the app, a request and a database session at hand.

The session is joined to ``request.tm``; nothing is committed unless the code calls
``request.tm.commit()`` (also available as ``tm``).  Whatever is left open is aborted on exit.
"""

from __future__ import annotations

import argparse
import code
import sys
import traceback
from typing import Any

from benben.cli.common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    CommandError,
    add_ini_argument,
    get_loader,
    one_line,
    read_app_settings,
    split_ini,
)
from benben.cli.datadir import check_database, core_settings
from benben.version import __version__

NAME = "shell"
CODE_FILENAME = "<benben shell -c>"

BANNER = f"""Benben {__version__} shell (Python {sys.version.split()[0]})
  app        the WSGI application
  registry   the Pyramid registry (registry.settings: the settings)
  settings   the effective settings
  request    a request for / (request.route_url, request.invoke_subrequest ...)
  dbsession  request.dbsession, joined to tm
  tm         request.tm: nothing is saved unless you call tm.commit() (then tm.begin() again)
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="open a Python shell with the app, a request and a database session",
        description="Open a Python shell with app, registry, settings, request, dbsession "
        "and tm. Database changes are discarded unless the code calls tm.commit().",
    )
    add_ini_argument(parser)
    parser.add_argument(
        "-c",
        dest="code",
        metavar="CODE",
        help="run CODE instead of an interactive shell ('-' reads it from stdin)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pyramid.scripting import prepare
    from transaction.interfaces import NoTransaction

    from benben.db import get_engine

    # Refused, like the other commands, where it would make a second, empty database.
    check_database(core_settings(read_app_settings(args.ini)), create=None)
    app = _load_app(args.ini)
    registry = app.registry
    environment = prepare(registry=registry)
    request = environment["request"]
    request.tm.begin()
    namespace = {
        "app": app,
        "registry": registry,
        "settings": registry.settings,
        "request": request,
        "dbsession": request.dbsession,
        "tm": request.tm,
    }
    try:
        if args.code is None:
            return _interact(namespace)
        source = sys.stdin.read() if args.code == "-" else args.code
        return _execute(source, namespace, show_traceback=args.traceback)
    finally:
        try:
            request.tm.get()
        except NoTransaction:
            pass  # the code committed (or aborted) and began no new transaction
        else:
            request.tm.abort()
        environment["closer"]()
        get_engine(registry).dispose()


def _load_app(ini: str | None) -> Any:
    if not ini:
        from benben.config import make_wsgi_app

        return make_wsgi_app({}, setup_logging=True)
    path, name = split_ini(ini)
    app = get_loader(path).get_wsgi_app(name)
    if not hasattr(app, "registry"):
        raise CommandError(f"[app:{name}] of {path} is not a Pyramid app (no registry)")
    return app


def _execute(source: str, namespace: dict[str, Any], *, show_traceback: bool) -> int:
    try:
        compiled = compile(source, CODE_FILENAME, "exec")
    except SyntaxError as exc:
        raise CommandError(
            f"-c code: SyntaxError at line {exc.lineno}: {exc.msg}", EXIT_USAGE
        ) from None
    try:
        exec(compiled, namespace)  # noqa: S102 - running the user's own code is the point
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:
        if show_traceback:
            raise
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == CODE_FILENAME]
        where = f" at line {frames[-1].lineno}" if frames else ""
        raise CommandError(
            f"-c code failed{where}: {type(exc).__name__}: {one_line(exc)}"
        ) from None
    return 0


def _interact(namespace: dict[str, Any]) -> int:
    try:
        import readline
        import rlcompleter

        readline.set_completer(rlcompleter.Completer(namespace).complete)
        readline.parse_and_bind("tab: complete")
    except ImportError:  # no readline on this platform: the shell still works
        pass
    try:
        code.interact(banner=BANNER, local=namespace, exitmsg="")
    except SystemExit as exc:  # exit() or quit() in the shell
        return exc.code if isinstance(exc.code, int) else 0
    return 0
