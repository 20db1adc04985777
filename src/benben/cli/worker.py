"""``benben worker`` (a Celery worker for the app's tasks) and ``benben scheduler`` (the one
scheduler of a deployment); see :mod:`benben.worker`.

::

    benben worker --ini production.ini                 # every queue, benben.worker.* settings
    benben worker --ini production.ini --queues webhooks --concurrency 16
    benben scheduler --ini production.ini              # beat, under the scheduler lock

Both need a broker (``benben.worker.broker_url``): without one, tasks run inside ``benben
serve`` (the embedded default) and there is nothing to consume.  ``benben worker`` is Celery's
own worker: SIGTERM (or Ctrl-C) is a warm shutdown, tasks in flight finish; a second one is a
cold shutdown, and what was unacknowledged is redelivered by the broker.
"""

from __future__ import annotations

import argparse
import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benben.cli.common import EXIT_USAGE, CommandError, add_ini_argument

__all__ = ["NAME", "SCHEDULER", "register", "run_scheduler", "run_worker"]

NAME = "worker"

log = logging.getLogger(__name__)


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"invalid count {text!r}: expected an integer >= 1")
    return number


def _queue_list(text: str) -> list[str]:
    queues = [word for word in text.replace(",", " ").split() if word]
    if not queues:
        raise argparse.ArgumentTypeError("expected queue names separated by commas")
    return queues


def register(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help="run a Celery worker for background tasks (needs benben.worker.broker_url)",
        description="Run a Celery worker consuming the app's task queues from the broker "
        "benben.worker.broker_url (Redis or RabbitMQ). SIGTERM or Ctrl-C: tasks in flight "
        "finish first. Without a broker, tasks run inside benben serve and this command "
        "refuses to start. Health and metrics: benben.worker.health_port.",
    )
    add_ini_argument(parser)
    parser.add_argument(
        "--beat",
        action="store_true",
        help="also run the periodic schedule, when this worker holds the scheduler lock "
        "(others wait as standbys: one scheduler per deployment)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive,
        metavar="N",
        help="tasks run at once (default: benben.worker.concurrency)",
    )
    parser.add_argument(
        "--queues",
        type=_queue_list,
        metavar="A,B",
        help="queues to consume, comma-separated (default: benben.worker.queues, else all)",
    )
    parser.set_defaults(handler=run_worker)


def register_scheduler(commands: Any) -> None:
    parser = commands.add_parser(
        SCHEDULER.NAME,
        help="run the periodic task schedule (one per deployment; others stand by)",
        description="Send the periodic tasks to the broker while holding the scheduler lock "
        "(benben.worker.scheduler_lock): a second scheduler waits as a standby and takes "
        "over when the first dies. SIGTERM or Ctrl-C stops it.",
    )
    add_ini_argument(parser)
    parser.set_defaults(handler=run_scheduler)


class _SchedulerCommand:
    """``benben scheduler``: an entry of :data:`benben.cli.COMMANDS` like a command module."""

    NAME = "scheduler"
    register = staticmethod(register_scheduler)


SCHEDULER = _SchedulerCommand()


@contextmanager
def worker_registry(ini: str | None) -> Iterator[Any]:
    """The configured app's registry (logging set up, the embedded database migrated), for a
    process that runs tasks; refused without a broker.  Connections closed on exit."""
    from benben.cli.common import read_app_settings
    from benben.config import configure, should_auto_migrate
    from benben.core_settings import CORE_SETTINGS
    from benben.db import get_engine, migration_sources
    from benben.db.migrations import upgrade
    from benben.observability.logs import setup_logging
    from benben.settings import resolve_settings

    raw = read_app_settings(ini)
    values = resolve_settings(raw, None, CORE_SETTINGS).values
    if not values["benben.worker.broker_url"]:
        # Refused before logging is set up: a refusal leaves no handler behind on stderr.
        raise CommandError(
            "benben.worker.broker_url is empty: tasks run inside benben serve (the "
            "embedded default); set a Redis or RabbitMQ URL to run workers apart",
            EXIT_USAGE,
        )
    setup_logging(values)
    registry = configure(raw).registry
    engine = get_engine(registry)
    try:
        if should_auto_migrate(registry.settings):
            upgrade(engine, migration_sources(registry))
        yield registry
    finally:
        engine.dispose()


@contextmanager
def health_server(registry: Any) -> Iterator[None]:
    port = registry.settings["benben.worker.health_port"]
    if not port:
        yield
        return
    from benben.worker.health import HealthServer

    server = HealthServer(registry, registry.settings["benben.worker.health_host"], port)
    server.start()
    try:
        yield
    finally:
        server.stop()


def run_worker(args: argparse.Namespace) -> int:
    from celery.signals import worker_process_init

    from benben.db import get_engine
    from benben.worker import get_celery
    from benben.worker.scheduler import SchedulerRunner

    with worker_registry(args.ini) as registry:
        settings = registry.settings
        app = get_celery(registry)
        queues = args.queues or list(settings["benben.worker.queues"])
        queues = queues or [queue.name for queue in app.conf.task_queues]
        pool = settings["benben.worker.pool"]
        if pool == "prefork":
            # A forked child must not use the parent's database connections.
            engine = get_engine(registry)
            worker_process_init.connect(lambda **_: engine.dispose(close=False), weak=False)
        worker = app.Worker(
            pool_cls=pool,
            concurrency=args.concurrency or settings["benben.worker.concurrency"],
            queues=queues,
            loglevel=logging.getLogger().getEffectiveLevel(),
            quiet=True,
        )
        scheduler = SchedulerRunner(registry) if args.beat else None
        with health_server(registry):
            if scheduler is not None:
                scheduler.start()
            log.info("worker consuming %s", ", ".join(queues))
            try:
                worker.start()  # returns after a warm or cold shutdown
            finally:
                if scheduler is not None:
                    scheduler.stop()
        return int(worker.exitcode or 0)


def run_scheduler(args: argparse.Namespace) -> int:
    from benben.worker.scheduler import SchedulerRunner

    with worker_registry(args.ini) as registry:
        runner = SchedulerRunner(registry)

        def stop(signum: int, frame: Any) -> None:
            runner.stopping.set()

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            with health_server(registry):
                runner.run()  # in this thread: returns once stopping is set
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("scheduler stopped")
        return 0
