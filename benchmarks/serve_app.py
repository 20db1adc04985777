"""Serve an app for the benchmarks as ``benben serve`` does: waitress for one worker, and for
more, waitress in each of Gunicorn's workers, with the connection settings ``benben serve`` gives.

    python benchmarks/serve_app.py bare|benben PORT [--workers N] [--threads T]
                                   [--worker-class waitress|gthread]
    python benchmarks/serve_app.py benben --prepare      (migrate, create the admin, exit)

Self-contained on purpose: it imports nothing of Benben but the PasteDeploy factory
``benben.main(global_config, **settings)``, stable across revisions, so that
``ab_revisions.py`` serves two revisions (``PYTHONPATH=<worktree>/src``) identically, and the
bare Pyramid view is served exactly as Benben is. Benben's settings come from BENBEN_*
variables; run ``--prepare`` first: workers never migrate concurrently.
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

# benben.serving's defaults, and what benben.serving_workers.gunicorn_options maps them to.
CONNECTION_LIMIT, CHANNEL_TIMEOUT, BACKLOG = 1000, 75, 1024


def bare_app() -> Any:
    from pyramid.config import Configurator

    def view(request: Any) -> dict[str, str]:
        return {"status": "ok"}

    with Configurator() as config:
        config.add_route("bare", "/bare")
        config.add_view(view, route_name="bare", renderer="json")
        return config.make_wsgi_app()


def benben_app() -> Any:
    from benben import main

    app = main({})
    logging.getLogger("benben.access").setLevel(logging.WARNING)
    return app


APPS = {"bare": bare_app, "benben": benben_app}


def serve_waitress(load: Any, port: int, threads: int) -> None:
    import waitress

    # "Task queue depth is N": every request waits for a thread under wrk; that is the load.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    waitress.serve(
        load(), host="127.0.0.1", port=port, threads=threads, connection_limit=CONNECTION_LIMIT,
        channel_timeout=CHANNEL_TIMEOUT, backlog=BACKLOG, asyncore_use_poll=True, _quiet=True,
    )  # fmt: skip


def waitress_worker() -> type:
    """What ``benben serve`` runs in each Gunicorn worker (benben.serving_workers.WaitressWorker,
    which this copies so that any revision is served alike): waitress on the inherited sockets,
    its loop turned here, a heartbeat per turn."""
    from gunicorn.workers.base import Worker
    from waitress import wasyncore
    from waitress.server import create_server

    class WaitressWorker(Worker):
        def run(self) -> None:
            logging.getLogger("waitress.queue").setLevel(logging.ERROR)
            channels: dict[int, Any] = {}
            server = create_server(
                self.wsgi, map=channels, sockets=[listener.sock for listener in self.sockets],
                threads=self.cfg.threads, connection_limit=CONNECTION_LIMIT,
                channel_timeout=CHANNEL_TIMEOUT, backlog=BACKLOG, asyncore_use_poll=True,
            )  # fmt: skip
            while self.alive and os.getppid() == self.ppid:
                self.notify()
                wasyncore.loop(timeout=1.0, map=channels, use_poll=True, count=1)
            server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
            wasyncore.close_all(channels)

    return WaitressWorker


def serve_gunicorn(load: Any, port: int, workers: int, threads: int, worker_class: str) -> None:
    from gunicorn.app.base import BaseApplication

    options = {
        "bind": [f"127.0.0.1:{port}"],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if worker_class == "gthread" else waitress_worker(),
        "worker_connections": CONNECTION_LIMIT,
        "keepalive": CHANNEL_TIMEOUT,
        "backlog": BACKLOG,
        "forwarded_allow_ips": "",
        "accesslog": None,
        "loglevel": "warning",
        "control_socket_disable": True,
    }

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return load()

    Server().run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", choices=sorted(APPS))
    parser.add_argument("port", type=int, nargs="?", default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument(
        "--worker-class",
        choices=("waitress", "gthread"),
        default="waitress",
        help="with --workers > 1: waitress in each Gunicorn worker (what benben serve runs) or "
        "Gunicorn's gthread (the alternative it was measured against)",
    )
    options = parser.parse_args()
    if options.prepare:
        os.environ["BENBEN_DATABASE_AUTO_MIGRATE"] = "true"
        APPS[options.app]()
        os._exit(0)  # nothing to tear down: the schema and the admin are what was wanted
    os.environ["BENBEN_DATABASE_AUTO_MIGRATE"] = "false"
    load = APPS[options.app]
    if options.workers == 1:
        serve_waitress(load, options.port, options.threads)
    else:
        serve_gunicorn(load, options.port, options.workers, options.threads, options.worker_class)


if __name__ == "__main__":
    main()
