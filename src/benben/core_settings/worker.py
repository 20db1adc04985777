"""Background work (benben.worker): the Celery broker, the worker's queues and concurrency, the
embedded default, the single scheduler, the health port, the built-in periodic tasks.

Part of :data:`benben.core_settings.CORE_SETTINGS`.
"""

from __future__ import annotations

from benben.settings import Setting, as_choice, as_int, as_list, as_str

__all__ = ["WORKER_SETTINGS"]

DAY = 86_400

WORKER_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "benben.worker.broker_url",
        as_str,
        "",
        "Celery broker the web processes send tasks to and `benben worker` consumes: "
        "redis://host:6379/1 or amqp://user:password@host:5672//. Empty: the embedded default, "
        "tasks run in the `benben serve` process itself (memory://, nothing to install).",
        secret=True,
    ),
    Setting(
        "benben.worker.embedded",
        as_choice("auto", "on", "off"),
        "auto",
        "Run the tasks and the periodic schedule inside `benben serve` (a worker thread on an "
        "in-process queue). auto: on when benben.worker.broker_url is empty.",
    ),
    Setting(
        "benben.worker.pool",
        as_choice("threads", "prefork", "solo"),
        "threads",
        "Celery execution pool of `benben worker`: threads (tasks wait on the network and the "
        "database), prefork (one process per slot) or solo (one task at a time).",
    ),
    Setting(
        "benben.worker.concurrency",
        as_int(1, 1024),
        4,
        "Tasks one `benben worker` runs at once (threads or processes of its pool).",
    ),
    Setting(
        "benben.worker.queues",
        as_list,
        (),
        "Queues `benben worker` consumes. Empty: every queue the app's tasks are routed to "
        "(core's `benben` and those plugins declare).",
    ),
    Setting(
        "benben.worker.queue_prefix",
        as_str,
        "",
        "Prefix of the queue names on the broker, for deployments sharing one (staging.).",
    ),
    Setting(
        "benben.worker.prefetch",
        as_int(1, 1000),
        1,
        "Messages a worker reserves per pool slot (Celery's worker_prefetch_multiplier); 1 "
        "keeps a long task from holding others back, and what a killed worker held small.",
    ),
    Setting(
        "benben.worker.visibility_timeout",
        as_int(60, 7 * DAY),
        1800,
        "Seconds before Redis hands a task a worker took but never acknowledged (it died) to "
        "another worker; must exceed the longest task. RabbitMQ redelivers on disconnection.",
    ),
    Setting(
        "benben.worker.scheduler_lock",
        as_str,
        "benben-scheduler",
        "Name of the lock the one scheduler of a deployment holds (PostgreSQL: a session "
        "advisory lock; SQLite: a lock file in the data directory). A second scheduler waits "
        "as a standby and takes over when the holder dies.",
    ),
    Setting(
        "benben.worker.scheduler_standby_seconds",
        as_int(1, 3600),
        10,
        "Seconds between a standby scheduler's attempts to take the lock, and between the "
        "holder's checks that it still holds it.",
    ),
    Setting(
        "benben.worker.health_host",
        as_str,
        "127.0.0.1",
        "Interface `benben worker` and `benben scheduler` serve /health/live, /health/ready "
        "and /metrics on (0.0.0.0 for a container's probes).",
    ),
    Setting(
        "benben.worker.health_port",
        as_int(0, 65535),
        0,
        "TCP port of the worker's health and metrics server; 0: none.",
    ),
    Setting(
        "benben.worker.feed_prune_seconds",
        as_int(0, 7 * DAY),
        3600,
        "Seconds between runs of the change feed's retention (benben.events.retention_hours); "
        "0: never.",
    ),
    Setting(
        "benben.worker.data_purge_seconds",
        as_int(0, 7 * DAY),
        6 * 3600,
        "Seconds between purges of tombstones and history past their retention (what "
        "`benben data purge` does); 0: never.",
    ),
    Setting(
        "benben.worker.token_cleanup_seconds",
        as_int(0, 7 * DAY),
        3600,
        "Seconds between deletions of expired refresh tokens and expired revoked-access-token "
        "rows; 0: never.",
    ),
)
