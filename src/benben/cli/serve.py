"""``benben serve``: the app under waitress, from the embedded defaults or a PasteDeploy file."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping
from types import FrameType
from typing import Any, NoReturn

from pyramid.exceptions import ConfigurationError

from benben.cli.common import (
    EXIT_USAGE,
    CommandError,
    add_ini_argument,
    get_loader,
    one_line,
    read_section,
    split_ini,
)
from benben.serving import (
    SERVER_SETTINGS,
    FileLimitError,
    ensure_file_limit,
    resolve_server_settings,
    server_setting_keys,
)

log = logging.getLogger(__name__)

NAME = "serve"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 6543
DEFAULT_THREADS = 4
MAX_THREADS = 1024


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected 0-65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected 0-65535")
    return port


def thread_count(text: str) -> int:
    try:
        threads = int(text)
    except ValueError:
        threads = 0
    if not 1 <= threads <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"invalid thread count {text!r}: expected 1-{MAX_THREADS}")
    return threads


def _default(key: str) -> Any:
    (setting,) = [s for s in SERVER_SETTINGS if s.name == f"benben.server.{key}"]
    return setting.default


def register(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="serve Benben over HTTP with waitress",
        description="Serve Benben over HTTP with waitress. Without --ini: the embedded defaults "
        f"on {DEFAULT_HOST}:{DEFAULT_PORT} with {DEFAULT_THREADS} threads, SQLite in ./var "
        "(migrated on start) and an in-process cache. With --ini: the app of the file and the "
        "host, port and threads of its [server:main] section; options given here win. "
        "Connections: the benben.server.* settings (by default at most "
        f"{_default('connection_limit')}, silent ones closed after "
        f"{_default('channel_timeout')} s), from [server:main] or "
        "BENBEN_SERVER_* variables (docs/reference/configuration.md).",
    )
    add_ini_argument(parser)
    parser.add_argument("--host", help=f"interface to listen on (default {DEFAULT_HOST})")
    parser.add_argument(
        "--port",
        type=port_number,
        help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one and prints it)",
    )
    parser.add_argument(
        "--threads",
        type=thread_count,
        help=f"worker threads, at most the database pool can serve (default {DEFAULT_THREADS})",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.ini:
        path, name = split_ini(args.ini)
        server_conf = read_section(path, "server:main", required=False)
        options = server_options(server_conf, args.host, args.port, args.threads)
        raised = _fit_file_limit(options)  # before loading the app: a refusal comes at once
        app = _load_app(path, name)
    else:
        from benben.config import make_wsgi_app

        options = server_options({}, args.host, args.port, args.threads)
        raised = _fit_file_limit(options)
        app = make_wsgi_app({}, setup_logging=True)
    if raised:
        log.info("open-file limit raised from %s to %s for the connection limit", *raised)
    return _serve(app, options)


def server_options(
    ini_conf: Mapping[str, Any],
    host: str | None,
    port: int | None,
    threads: int | None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """waitress options: the ini's ``[server:main]``, then the command line's; the connection
    settings (benben.server.*) from their defaults, the ini, then the environment."""
    try:
        connections = resolve_server_settings(ini_conf, os.environ if environ is None else environ)
    except ConfigurationError as exc:
        raise CommandError(f"invalid server option: {one_line(exc)}", EXIT_USAGE) from None
    owned = server_setting_keys() | {"use"}
    options = {key: value for key, value in ini_conf.items() if key not in owned}
    options.update(connections)
    use = str(ini_conf.get("use", "egg:waitress#main"))
    if not use.startswith("egg:waitress"):
        raise CommandError(
            f"[server:main] uses {use}, but benben serve runs waitress: start this file with "
            "pserve, or use egg:waitress#main",
            EXIT_USAGE,
        )
    listen = str(options.pop("listen", "") or "").split()
    ini_host = options.pop("host", None)
    ini_port = options.pop("port", None)
    if listen and (ini_host or ini_port):
        raise CommandError(
            "[server:main] sets both listen and host/port: keep one of them", EXIT_USAGE
        )
    if host is None and port is None and listen:
        options["listen"] = " ".join(listen)
    else:
        # One endpoint: what the command line names, completed from the ini, then the defaults.
        first_host, first_port = _split_endpoint(listen[0]) if listen else (ini_host, ini_port)
        options["host"] = host or first_host or DEFAULT_HOST
        options["port"] = port if port is not None else (first_port or DEFAULT_PORT)
    options["threads"] = threads or _ini_threads(options.get("threads"))
    return options


def _fit_file_limit(options: Mapping[str, Any]) -> tuple[int, int] | None:
    try:
        return ensure_file_limit(options["connection_limit"])
    except FileLimitError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None


def _ini_threads(value: Any) -> int:
    """``threads`` of ``[server:main]``, checked as ``--threads`` is (waitress accepts 0)."""
    if value is None or not str(value).strip():
        return DEFAULT_THREADS
    try:
        return thread_count(str(value).strip())
    except argparse.ArgumentTypeError as exc:
        raise CommandError(f"[server:main] threads: {exc}", EXIT_USAGE) from None


def _split_endpoint(endpoint: str) -> tuple[str | None, str | None]:
    """``host:port``, ``[v6]:port`` or ``port`` (waitress's listen syntax)."""
    if ":" not in endpoint or endpoint.endswith("]"):
        return (None, endpoint) if endpoint.isdigit() else (endpoint, None)
    host, _, port = endpoint.rpartition(":")
    host = "0.0.0.0" if host == "*" else host.strip("[]")  # noqa: S104 - waitress's "*"
    return host or None, port or None


def _load_app(path: str, name: str) -> Any:
    """The ini's app, as pserve loads it: logging from the file first, then the app factory."""
    loader = get_loader(path)
    loader.setup_logging()
    return loader.get_wsgi_app(name)


def _serve(app: Any, options: dict[str, Any]) -> int:
    import waitress.server

    try:
        server = waitress.server.create_server(app, **options)
    except ValueError as exc:
        raise CommandError(f"invalid server option: {one_line(exc)}", EXIT_USAGE) from None
    except OSError as exc:
        where = options.get("listen") or f"{options['host']}:{options['port']}"
        raise CommandError(f"cannot listen on {where}: {one_line(exc)}") from None

    endpoints = getattr(server, "effective_listen", None) or [
        (server.effective_host, server.effective_port)
    ]
    urls = ", ".join(_url(host, port) for host, port in endpoints)
    banner = start_banner(getattr(app, "registry", None), _url(*_reachable(*endpoints[0])))
    # A container stop (SIGTERM) ends the server like Ctrl-C: waitress closes its sockets. Set
    # before the line that says the server is up, which is when supervisors start stopping it.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(f"benben: serving on {urls} ({options['threads']} threads); Ctrl-C to stop")
        print("\n".join(banner), flush=True)
        log.info(
            "up to %s connections (backlog %s); silent ones closed after %s s",
            options["connection_limit"],
            options["backlog"],
            options["channel_timeout"],
        )
        server.run()  # returns after KeyboardInterrupt/SystemExit, having closed the server
    except KeyboardInterrupt:  # stopped before its loop started
        server.task_dispatcher.shutdown()
        server.close()
    finally:
        signal.signal(signal.SIGTERM, previous)
    _release(getattr(app, "registry", None))
    # Logged, not printed: stderr carries the log stream (one JSON object per line in production).
    log.info("server stopped")
    return 0


def start_banner(registry: Any, base_url: str) -> list[str]:
    """The lines after "serving on": where to go (from ``benben.public_url`` when set), where the
    data is, what database and cache are used (never with a password).  Records the embedded
    database's directory for the other commands (:mod:`benben.cli.datadir`)."""
    from benben.cli.datadir import (
        describe_database,
        embedded_database,
        record_data_dir,
        recorded_data_dir,
    )

    settings = registry.settings if registry is not None else {}
    base = (settings.get("benben.public_url") or base_url).rstrip("/")
    rows = [
        ("home", f"{base}/"),
        ("API", f"{base}/api/v1/"),
        ("API docs", f"{base}/api/v1/docs"),
        ("OpenAPI", f"{base}/api/v1/openapi.json"),
        ("health", f"{base}/health/ready"),
    ]
    notes = []
    if "benben.data_dir" in settings:
        rows.append(("data", settings["benben.data_dir"]))
        rows.append(("database", describe_database(settings)))
        rows.append(("cache", _describe_cache(settings)))
        database = embedded_database(settings)
        if database is not None:
            earlier = recorded_data_dir()
            if earlier and earlier != database.parent and (earlier / database.name).exists():
                notes.append(
                    f"  note: the last benben serve used the database in {earlier}; this one "
                    f"is another ({database.parent})"
                )
            record_data_dir(database.parent)
    width = max(len(name) for name, _ in rows)
    return [f"  {name.ljust(width)}  {value}" for name, value in rows] + notes


def _describe_cache(settings: Any) -> str:
    backend = settings.get("benben.cache.backend", "memory")
    if backend == "redis":
        return f"redis {_redact(str(settings.get('benben.cache.url', '')))}"
    return {"memory": "memory (in this process)", "null": "none"}.get(backend, backend)


def _redact(url: str) -> str:
    """A URL with its password replaced, as ``benben config`` never shows one."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _reachable(host: str, port: int) -> tuple[str, int]:
    """Where a browser on this machine reaches a wildcard address."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host), port  # noqa: S104


def _release(registry: Any) -> None:
    """Close the database connections (SQLite checkpoints its WAL on the last close): the
    process then ends without tearing the app down (see exit_fast)."""
    if registry is None:
        return
    for key in ("benben.db.engine", "benben.db.replica_engine"):
        engine = registry.get(key)
        if engine is not None:
            engine.dispose()


def exit_fast(code: int) -> NoReturn:
    """End the ``benben serve`` process once the server has stopped: run the exit handlers (log
    handlers flushed, tracing spans exported), then leave without the interpreter's teardown.

    Tearing down the whole application's objects, module by module, took most of the time a
    stop took (0.5 s of 0.7 s on an idle machine; seconds on a loaded one, long enough for a
    supervisor's or a test's patience to run out after SIGINT or SIGTERM), and nothing in it
    matters once the sockets are closed and the database released.
    """
    atexit._run_exitfuncs()  # the handlers registered with atexit, as a normal exit runs them
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
