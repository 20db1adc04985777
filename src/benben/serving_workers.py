"""``benben serve`` with more than one worker: Gunicorn's master over N processes, each running
waitress on the sockets the master bound.

Gunicorn, because it is the pre-fork process manager Python deployments already know: it
replaces a worker that dies, kills and replaces one that hangs (``benben.server.timeout``),
reloads gracefully on SIGHUP, stops gracefully on SIGTERM, and adds or removes a worker on
SIGTTIN/SIGTTOU. waitress in each worker, not Gunicorn's own ``gthread``: waitress reads a
request on its event loop, so an idle or slow client holds a socket and never a thread, and
every ``benben.server.*`` and ``[server:main]`` option means in each process what it means in
one. (``gthread`` gives a thread to every new connection for up to five seconds, and to a
half-sent request until it ends: twenty idle sockets kept everyone else waiting.)

The worker runs waitress's event loop itself, one turn at a time, so that it can tell the master
it is alive from that loop (a process whose loop is stuck is killed and replaced), and stop
gracefully: no new connection accepted, the requests in flight answered, then the process ends.

The master never builds the app: :func:`benben.cli.serve` resolves the settings, migrates when
the embedded default asks for it, and binds the sockets; each worker then loads the app after
its fork, so no database pool, Redis connection or thread is ever shared between processes.
Their metrics meet in the directory the master names before forking
(:mod:`benben.observability.metrics_directory`); the master marks each worker that ends.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger
from gunicorn.workers.base import Worker
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

from benben.observability.metrics_directory import worker_exited
from benben.realtime.streaming_channel import install_streaming
from benben.serving import ProcessSettings

__all__ = ["BenbenLogger", "Server", "WaitressWorker", "gunicorn_options", "waitress_options"]

# Where the master, not waitress, listens: the addresses it binds.
BOUND_BY_MASTER = frozenset({"host", "port", "listen"})
LOOP_TURN = 1.0  # seconds: the longest a worker's loop waits, so the longest between heartbeats
LINGER = 2.0  # seconds a stopping worker still reads the connections it accepted


def waitress_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """What each worker's waitress gets: every option ``benben serve`` resolved (threads, the
    benben.server.* connection settings, other ``[server:main]`` keys) but the addresses."""
    return {key: value for key, value in options.items() if key not in BOUND_BY_MASTER}


def gunicorn_options(
    bind: list[str], workers: int, backlog: int, process: ProcessSettings
) -> dict[str, Any]:
    """Gunicorn's settings: its master binds and supervises, waitress serves in each worker."""
    return {
        "bind": bind,
        "workers": workers,
        "worker_class": WaitressWorker,
        "backlog": backlog,
        "timeout": process.timeout,
        "graceful_timeout": process.graceful_timeout,
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


class WaitressWorker(Worker):
    """A Gunicorn worker serving with waitress on the sockets it inherited. SIGTERM and SIGINT
    (Ctrl-C reaches every process of the terminal's group) stop it gracefully; SIGQUIT at once.
    Its waitress options are the :class:`Server`'s (``self.app``)."""

    _wake: Callable[[], None] | None = None

    def init_signals(self) -> None:
        super().init_signals()
        signal.signal(signal.SIGINT, self.handle_exit)

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        if self._wake is not None:
            self._wake()  # the loop's wait ends now, not at the end of its turn

    def run(self) -> None:
        channels: dict[int, Any] = {}  # waitress's socket map: the listeners and connections
        server = create_server(
            self.wsgi,
            map=channels,
            sockets=[listener.sock for listener in self.sockets],
            **self.app.waitress_options,
        )
        # Event streams leave waitress's threads for this process's hub (made after the fork).
        hub = install_streaming(server)
        listeners = [d for d in channels.values() if isinstance(d, BaseWSGIServer)]
        self._wake = listeners[0].pull_trigger
        self._next_beat = 0.0
        while self.alive and self._parent_alive():
            self._turn(channels, LOOP_TURN)
        # Graceful: connections not yet accepted are left to the other workers (or to the
        # kernel's backlog); those accepted get a moment to send their request (a client sends
        # it right after connecting), and every request received is answered, all within the
        # graceful timeout.
        for listener in listeners:
            listener.accepting = False
        # Streams end first (a "shutdown" frame each: their clients reconnect to the other
        # workers), while the requests in flight are answered.
        hub.stop(wait=False)
        stopped = time.monotonic()
        deadline = stopped + self.cfg.graceful_timeout
        while time.monotonic() < deadline and any(
            _answering(d) or (_connection(d) and time.monotonic() < stopped + LINGER)
            for d in list(channels.values())
        ):
            self._turn(channels, 0.05)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        hub.stop()
        wasyncore.close_all(channels)

    def _turn(self, channels: dict[int, Any], timeout: float) -> None:
        """One turn of waitress's loop, and a heartbeat at most once a second (a system call
        per turn would hand the GIL to a request's thread at every event): a loop stuck for the
        master's timeout (a deadlock, an extension holding the GIL) gets its process killed."""
        now = time.monotonic()
        if now >= self._next_beat:
            self._next_beat = now + LOOP_TURN
            self.notify()
        wasyncore.loop(timeout=timeout, map=channels, use_poll=True, count=1)

    def _parent_alive(self) -> bool:
        """Whether the master still runs (checked with the heartbeat): a worker whose master was
        killed stops rather than serve on unsupervised."""
        return time.monotonic() < self._next_beat or os.getppid() == self.ppid


def _connection(dispatcher: Any) -> bool:
    return isinstance(dispatcher, HTTPChannel)


def _answering(dispatcher: Any) -> bool:
    """A connection with a request being received, received and not yet answered, or an answer
    not yet sent."""
    return _connection(dispatcher) and bool(
        dispatcher.request is not None or dispatcher.requests or dispatcher.total_outbufs_len
    )


class GracefulArbiter(Arbiter):
    """Gunicorn's master, with SIGINT a graceful stop as SIGTERM is (SIGQUIT: immediate)."""

    def handle_int(self) -> None:
        self.handle_term()


class Server(BaseApplication):
    """The Gunicorn application: ``options`` as its settings, ``waitress`` as each worker's
    waitress options, ``load_app`` called in each worker after its fork, ``on_ready(urls)`` in
    the master once its sockets are bound, ``on_worker_exit(app)`` in a worker that leaves."""

    def __init__(
        self,
        options: Mapping[str, Any],
        waitress: Mapping[str, Any],
        load_app: Callable[[], Any],
        on_ready: Callable[[list[str]], None],
        on_worker_exit: Callable[[Any], None],
    ) -> None:
        self._options = dict(options)
        self.waitress_options = dict(waitress)
        self._load_app = load_app
        self._on_ready = on_ready
        self._on_worker_exit = on_worker_exit
        super().__init__(prog="benben serve")

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        self.cfg.set("when_ready", self._ready)
        self.cfg.set("worker_exit", self._worker_exit)
        self.cfg.set("child_exit", self._child_exit)

    def load(self) -> Any:
        return self._load_app()

    def run(self) -> None:
        """Serve until stopped: raises SystemExit, in the master and in every worker (the
        caller tells them apart by pid)."""
        GracefulArbiter(self).run()

    def _ready(self, arbiter: Arbiter) -> None:
        self._on_ready([str(listener) for listener in arbiter.LISTENERS])

    def _child_exit(self, arbiter: Arbiter, worker: Any) -> None:
        """In the master, once a worker has ended: its live metrics stop counting."""
        worker_exited(worker.pid)

    def _worker_exit(self, arbiter: Arbiter, worker: Any) -> None:
        app = getattr(worker, "wsgi", None)
        if app is not None:
            self._on_worker_exit(app)
