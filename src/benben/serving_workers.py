"""``benben serve`` with more than one worker: Gunicorn's master over N processes, each serving
the app with Gunicorn's own threaded worker (``gthread``).

Gunicorn, because it is the pre-fork process manager Python deployments already know: it
replaces a worker that dies, kills and replaces one that hangs (``benben.server.timeout``),
reloads gracefully on SIGHUP, stops gracefully on SIGTERM, and adds or removes a worker on
SIGTTIN/SIGTTOU. Its own ``gthread`` worker rather than waitress inside a Gunicorn worker: the
library's worker is maintained with the master it answers to (heartbeats, signals, graceful
stops); docs/deployment.md says what was measured.

The master never builds the app: :func:`benben.cli.serve` resolves the settings, migrates when
the embedded default asks for it, and binds the sockets; each worker then loads the app after
its fork, so no database pool, Redis connection or thread is ever shared between processes.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker

from benben.serving import ProcessSettings

__all__ = ["BenbenLogger", "GracefulThreadWorker", "Server", "gunicorn_options"]

# Gunicorn's largest finite request line; waitress bounds only the whole head (256 KiB), and a
# data API query string with several filters is longer than Gunicorn's default 4094.
REQUEST_LINE_LIMIT = 8190

# The [server:main] keys a Gunicorn server reads (mapped by gunicorn_options) or has no need of:
# cleanup_interval (gthread checks its idle connections on every loop) and asyncore_use_poll
# (gthread waits with the selectors module: epoll, never select()).
MAPPED_KEYS = frozenset(
    {"host", "port", "listen", "threads", "connection_limit", "channel_timeout", "backlog",
     "cleanup_interval", "asyncore_use_poll"}
)  # fmt: skip


def unmapped_options(options: Mapping[str, Any]) -> list[str]:
    """waitress options of ``[server:main]`` that a Gunicorn server cannot honour."""
    return sorted(key for key in options if key not in MAPPED_KEYS)


def gunicorn_options(
    bind: list[str],
    workers: int,
    threads: int,
    connections: Mapping[str, Any],
    process: ProcessSettings,
) -> dict[str, Any]:
    """Gunicorn's settings for the waitress options ``benben serve`` resolved, so that the two
    servers hold connections alike (docs/deployment.md lists what differs)."""
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": GracefulThreadWorker,
        # Per process, as waitress's connection_limit is: beyond it a worker stops accepting
        # and connections wait in the backlog.
        "worker_connections": connections["connection_limit"],
        "backlog": connections["backlog"],
        # waitress's channel_timeout: how long a silent connection is kept.
        "keepalive": connections["channel_timeout"],
        "timeout": process.timeout,
        "graceful_timeout": process.graceful_timeout,
        "limit_request_line": REQUEST_LINE_LIMIT,
        # X-Forwarded-* are believed by the app alone, from benben.security.trusted_proxies:
        # Gunicorn must not set the scheme or the script name from any peer's headers.
        "forwarded_allow_ips": "",
        "forwarder_headers": "",
        "logger_class": BenbenLogger,
        "accesslog": None,  # the app logs every request itself (benben.access)
        "proc_name": "benben",
        "preload_app": False,  # each worker builds its app after the fork
        # Signals are the interface; a control socket in $HOME would be shared by every
        # instance on the machine.
        "control_socket_disable": True,
    }


class BenbenLogger(Logger):
    """Gunicorn's messages (workers booted, killed, signals) through the logging Benben set
    up (one JSON object per line in production), not through handlers of Gunicorn's own."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for gunicorn_log in (self.error_log, self.access_log):
            for handler in list(gunicorn_log.handlers):
                gunicorn_log.removeHandler(handler)
            gunicorn_log.propagate = True


class GracefulThreadWorker(ThreadWorker):
    """``gthread``, with SIGINT graceful as SIGTERM is: Ctrl-C reaches every process of the
    terminal's group, and a request in flight finishes rather than being cut (SIGQUIT stays
    the immediate stop)."""

    def init_signals(self) -> None:
        super().init_signals()
        signal.signal(signal.SIGINT, self.handle_exit)


class GracefulArbiter(Arbiter):
    """Gunicorn's master, with SIGINT a graceful stop as SIGTERM is (SIGQUIT: immediate)."""

    def handle_int(self) -> None:
        self.handle_term()


class Server(BaseApplication):
    """The Gunicorn application: ``options`` as its settings, ``load_app`` called in each
    worker after its fork, ``on_ready(listen_urls)`` in the master once its sockets are bound,
    ``on_worker_exit(app)`` in a worker that is leaving."""

    def __init__(
        self,
        options: Mapping[str, Any],
        load_app: Callable[[], Any],
        on_ready: Callable[[list[str]], None],
        on_worker_exit: Callable[[Any], None],
    ) -> None:
        self._options = dict(options)
        self._load_app = load_app
        self._on_ready = on_ready
        self._on_worker_exit = on_worker_exit
        super().__init__(prog="benben serve")

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        self.cfg.set("when_ready", self._ready)
        self.cfg.set("worker_exit", self._worker_exit)

    def load(self) -> Any:
        return self._load_app()

    def run(self) -> None:
        """Serve until stopped: raises SystemExit, in the master and in every worker (the
        caller tells them apart by pid)."""
        GracefulArbiter(self).run()

    def _ready(self, arbiter: Arbiter) -> None:
        self._on_ready([str(listener) for listener in arbiter.LISTENERS])

    def _worker_exit(self, arbiter: Arbiter, worker: Any) -> None:
        app = getattr(worker, "wsgi", None)
        if app is not None:
            self._on_worker_exit(app)
