"""``benben serve``: the app under waitress (one process), or under Gunicorn with more than one
worker process (:mod:`benben.serving_workers`), from the embedded defaults or a PasteDeploy file."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from functools import partial
from types import FrameType
from typing import Any, NoReturn
from urllib.parse import urlsplit

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
from benben.cli.serve_arguments import port_number, thread_count, workers_option
from benben.cli.serve_banner import listen_url, reachable, start_banner
from benben.cli.serve_listen import listen
from benben.core_settings import CORE_SETTINGS
from benben.serving import (
    SERVER_SETTINGS,
    FileLimitError,
    ProcessSettings,
    ensure_file_limit,
    resolve_process_settings,
    resolve_server_settings,
    server_setting_keys,
    stream_limit,
    streams_beyond_limit,
    worker_count,
)
from benben.settings import resolve_settings

__all__ = [
    "exit_fast",
    "register",
    "run",
    "server_options",
    "start_banner",
    "workers_option",
]

log = logging.getLogger(__name__)

NAME = "serve"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 6543
DEFAULT_THREADS = 4


def _default(key: str) -> Any:
    (setting,) = [s for s in SERVER_SETTINGS if s.name == f"benben.server.{key}"]
    return setting.default


def register(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="serve Benben over HTTP (waitress; Gunicorn for several processes)",
        description="Serve Benben over HTTP: with waitress in one process, or with Gunicorn "
        "in --workers processes (Unix; SIGHUP reloads them, SIGTERM or Ctrl-C lets requests "
        "in flight finish). Without --ini: the embedded defaults "
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
        help=f"threads per process, at most its database pool can serve (default "
        f"{DEFAULT_THREADS})",
    )
    parser.add_argument(
        "--workers",
        type=workers_option,
        help="processes: auto (default: one per CPU on PostgreSQL with a Redis cache, else 1), "
        "1 (waitress) or more (Gunicorn; refused with the in-process memory cache); "
        "benben.server.workers",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.ini:
        path, name = split_ini(args.ini)
        server_conf = read_section(path, "server:main", required=False)
        app_conf = read_section(path, f"app:{name}", required=False)
        load_app: Callable[[], Any] = partial(_load_app, path, name)
    else:
        server_conf, app_conf = {}, {}
        load_app = _embedded_app
    options = server_options(server_conf, args.host, args.port, args.threads)
    process = _process_settings(server_conf, args.workers)
    app_settings = resolve_settings(app_conf, None, CORE_SETTINGS).values
    workers = worker_count(process, app_settings)
    streams = stream_limit(app_settings)
    raised = _fit_file_limit(options, streams)  # before loading the app: a refusal comes at once
    if workers > 1:
        from benben.observability.metrics_directory import shared_metrics_directory

        # Named before anything imports prometheus_client (it picks its storage on import),
        # inherited by the workers, removed when the master ends.
        measured = app_settings["benben.metrics.enabled"] != "off"
        with shared_metrics_directory(measured) as metrics:
            return _serve_workers(
                load_app, app_conf, options, process, workers, (raised, streams), metrics
            )
    # Listening first: a port in use is refused before the app starts its embedded worker and
    # scheduler, whose threads would otherwise log while the refusal is printed.
    server, late = listen(options)
    try:
        late.app = app = load_app()
    except BaseException:
        server.close()
        raise
    _log_raised((raised, streams), options)
    return _serve(server, app, options)


def _embedded_app() -> Any:
    from benben import main  # as an ini's app: the embedded default's tasks run in-process

    return main({})


def _process_settings(server_conf: Mapping[str, Any], workers: Any) -> ProcessSettings:
    try:
        return resolve_process_settings(server_conf, os.environ, workers)
    except ConfigurationError as exc:
        raise CommandError(f"invalid server option: {one_line(exc)}", EXIT_USAGE) from None


def _log_raised(limit: tuple[tuple[int, int] | None, int], options: Mapping[str, Any]) -> None:
    raised, streams = limit
    if raised:
        log.info("open-file limit raised from %s to %s for the connection limit", *raised)
    beyond = streams_beyond_limit(options["connection_limit"], streams)
    if beyond:
        fit = f"room for {streams - beyond} of benben.realtime.max_subscribers {streams} streams"
        log.warning(
            "the open-file limit leaves %s: lower it, or raise ulimit -Hn by %s", fit, beyond
        )


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


def _fit_file_limit(options: Mapping[str, Any], streams: int) -> tuple[int, int] | None:
    try:
        return ensure_file_limit(options["connection_limit"], streams)
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


def _serve(server: Any, app: Any, options: dict[str, Any]) -> int:
    from benben.realtime.streaming_channel import install_streaming

    # Event streams leave waitress's threads for the hub once their response is computed.
    hub = install_streaming(server)

    endpoints = getattr(server, "effective_listen", None) or [
        (server.effective_host, server.effective_port)
    ]
    urls = ", ".join(listen_url(host, port) for host, port in endpoints)
    banner = start_banner(getattr(app, "registry", None), listen_url(*reachable(*endpoints[0])))
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
    hub.stop()  # every stream ends with a "shutdown" frame: its client reconnects elsewhere
    _release(getattr(app, "registry", None))
    # Logged, not printed: stderr carries the log stream (one JSON object per line in production).
    log.info("server stopped")
    return 0


def _serve_workers(
    load_app: Callable[[], Any],
    app_conf: Mapping[str, Any],
    options: Mapping[str, Any],
    process: ProcessSettings,
    workers: int,
    limit: tuple[tuple[int, int] | None, int],
    metrics_directory: str | None,
) -> int:
    """Gunicorn's master: settings checked and the embedded database migrated here, once,
    before any worker forks; each worker then builds the app (never shared across a fork)."""
    from benben.config import configure, should_auto_migrate
    from benben.db import get_engine, migration_sources
    from benben.db.migrations import upgrade
    from benben.observability.logs import setup_logging
    from benben.observability.metrics_directory import empty_metrics_directory
    from benben.serving_workers import Server, gunicorn_options, waitress_options

    setup_logging(resolve_settings(app_conf, None, CORE_SETTINGS).values)
    _log_raised(limit, options)
    registry = configure(app_conf).registry  # every setting and plugin checked before forking
    try:
        if should_auto_migrate(registry.settings):
            upgrade(get_engine(registry), migration_sources(registry))
            # Inherited by the workers: migrated once here, never concurrently by each of them.
            os.environ["BENBEN_DATABASE_AUTO_MIGRATE"] = "false"
    finally:
        _release(registry)
    if metrics_directory is not None:
        empty_metrics_directory(metrics_directory)  # the master's own app counts nothing

    def ready(urls: list[str]) -> None:
        where = urlsplit(urls[0])
        base = listen_url(*reachable(where.hostname or DEFAULT_HOST, where.port or 0))
        print(
            f"benben: serving on {', '.join(urls)} ({workers} workers x {options['threads']} "
            "threads); Ctrl-C to stop"
        )
        print("\n".join(start_banner(registry, base)), flush=True)

    settings = gunicorn_options(_bind(options), workers, options["backlog"], process)
    server = Server(
        settings,
        waitress_options(options),
        load_app,
        ready,
        lambda app: _release(getattr(app, "registry", None)),
    )
    master = os.getpid()
    try:
        server.run()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        if os.getpid() != master:  # a worker leaving: its app is released, skip the teardown
            exit_fast(code)
    if code:
        raise CommandError(f"Gunicorn stopped with status {code}: see the log above")
    log.info("server stopped")
    return 0


def _bind(options: Mapping[str, Any]) -> list[str]:
    """Gunicorn's ``bind`` addresses for waitress's ``listen`` or ``host``/``port``."""
    if "listen" in options:
        endpoints = [_split_endpoint(e) for e in str(options["listen"]).split()]
    else:
        endpoints = [(options["host"], str(options["port"]))]
    bound = []
    for host, port in endpoints:
        host = host or "0.0.0.0"  # noqa: S104 - waitress's default for a bare port
        port = port or "8080"  # waitress's default port
        bound.append(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    return bound


def _release(registry: Any) -> None:
    """Close the database connections (SQLite checkpoints its WAL on the last close) and hand
    over the last metrics: the process then ends without tearing the app down (see exit_fast)."""
    if registry is None:
        return
    from benben.db import get_engine, get_replica_engine
    from benben.observability.metrics import get_metrics
    from benben.worker.embedded import stop_embedded

    stop_embedded(registry)  # tasks in flight finish first: they use the database
    get_metrics(registry).close()

    for engine in (get_engine(registry), get_replica_engine(registry)):
        if engine is not None:
            engine.dispose()


def exit_fast(code: int) -> NoReturn:
    """End the ``benben serve`` process once the server has stopped: run the exit handlers (log
    handlers flushed, tracing spans exported), then leave without the interpreter's teardown.

    Tearing down the whole application's objects, module by module, took most of the time a
    stop took (0.5 s of 0.7 s on an idle machine; seconds on a loaded one, long enough for a
    supervisor's or a test's patience to run out after SIGINT or SIGTERM), and nothing in it
    matters once the sockets are closed and the database released. Under Gunicorn it still
    pays: each worker builds a whole app and leaves this way too (its master waits for it).
    """
    atexit._run_exitfuncs()  # the handlers registered with atexit, as a normal exit runs them
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
