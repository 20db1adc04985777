"""How ``benben serve`` holds its connections: the ``benben.server.*`` settings for waitress.

waitress reads a whole request (line, headers and body) on its event loop before handing it to a
worker thread, so a slow or idle client costs one socket, not a thread. What runs out is sockets:
waitress stops accepting at ``connection_limit`` (100 by default), and with ``select()`` it cannot
watch a descriptor numbered above 1024 at all. These settings are therefore chosen here, once:
a high connection limit watched with ``poll()``, idle sockets closed after ``channel_timeout``,
and an open-file limit that fits the connection limit. A buffering reverse proxy in front
(conf/nginx/benben.conf) is still what absorbs slow clients in production.

Where each value comes from: the default here < the ``[server:main]`` key of the same name
(waitress's own, so ``pserve`` reads it too) < the ``BENBEN_SERVER_*`` environment variable.

The process settings (``workers``, ``timeout``, ``graceful_timeout``) are ``benben serve``'s
alone: with more than one worker it runs Gunicorn (:mod:`benben.serving_workers`), and maps the
connection settings above onto Gunicorn's knobs. waitress does not know those three keys, so
``pserve`` refuses a ``[server:main]`` that sets them: set them in the environment instead.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pyramid.exceptions import ConfigurationError

from benben.settings import Setting, as_bool, as_int

__all__ = [
    "CONNECTION_SETTINGS",
    "PROCESS_SETTINGS",
    "RESERVED_FILES",
    "SERVER_SETTINGS",
    "WORKERS_AUTO",
    "FileLimitError",
    "ProcessSettings",
    "as_workers",
    "available_cpus",
    "ensure_file_limit",
    "resolve_process_settings",
    "resolve_server_settings",
    "stream_limit",
    "streams_beyond_limit",
    "worker_count",
]

SERVER_PREFIX = "benben.server."

# Descriptors a server needs besides its client connections: the listening sockets, waitress's
# wake-up pipe, log files, the SQLite file, the database pool (10 + 10 by default) and Redis.
RESERVED_FILES = 128

CONNECTION_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "benben.server.connection_limit",
        as_int(10, 100_000),
        1000,
        "Client connections `benben serve` holds at once (`connection_limit` in `[server:main]`; "
        "10-100000). Beyond it new connections wait in the listen backlog until one closes. "
        "waitress's own default, 100, lets a hundred slow or idle clients lock everyone out. "
        f"`benben serve` raises the open-file limit to fit it plus {RESERVED_FILES}, or refuses "
        "to start.",
    ),
    Setting(
        "benben.server.channel_timeout",
        as_int(1, 3600),
        75,
        "Seconds a connection may stay silent (no request being answered, no byte received) "
        "before `benben serve` closes it (`channel_timeout` in `[server:main]`; 1-3600). Above "
        "the 60 s idle timeout of common load balancers (AWS ALB, ingress-nginx), so that they "
        "close an idle keep-alive connection first, never Benben under a request they send.",
    ),
    Setting(
        "benben.server.cleanup_interval",
        as_int(1, 3600),
        10,
        "Seconds between two sweeps for connections past benben.server.channel_timeout "
        "(`cleanup_interval` in `[server:main]`; 1-3600): a silent connection is closed at most "
        "this long after its timeout.",
    ),
    Setting(
        "benben.server.max_request_body_size",
        as_int(1024, 1 << 44),
        (1 << 30) + (16 << 20),
        "Bytes of one request body waitress accepts (`max_request_body_size` in "
        "`[server:main]`); a body over 512 KiB is spooled to a temporary file, not kept in "
        "memory. Larger than any upload you allow (`benben.files.max_file_size` plus a little "
        "for multipart framing); `benben.security.max_body_size` limits every other route.",
    ),
    Setting(
        "benben.server.backlog",
        as_int(1, 65535),
        1024,
        "Connections the kernel queues while `benben serve` is at its connection limit "
        "(`backlog` in `[server:main]`; 1-65535; Linux caps it at net.core.somaxconn).",
    ),
)

WORKERS_AUTO = "auto"
MAX_WORKERS = 256
CGROUP = Path("/sys/fs/cgroup")


def as_workers(value: Any) -> int | Literal["auto"]:
    """``auto`` or a count of worker processes."""
    text = str(value).strip().lower()
    if text == WORKERS_AUTO:
        return WORKERS_AUTO
    try:
        number = int(text)
    except ValueError:
        raise ValueError(f"expected {WORKERS_AUTO} or an integer") from None
    if not 1 <= number <= MAX_WORKERS:
        raise ValueError(f"must be {WORKERS_AUTO} or from 1 to {MAX_WORKERS}")
    return number


as_workers.__name__ = f"{WORKERS_AUTO} or integer from 1 to {MAX_WORKERS}"

PROCESS_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "benben.server.workers",
        as_workers,
        WORKERS_AUTO,
        "Processes `benben serve` runs (`--workers`; `workers` in `[server:main]`, which "
        "`pserve` refuses: prefer the environment variable). `auto`: one per CPU this process "
        "may use (a container's CPU limit counts, rounded up) when the database is PostgreSQL "
        "and benben.cache.backend is `redis`, one "
        "otherwise (an in-process cache is not shared between processes). `1`: waitress, one "
        "process. More: Gunicorn (Unix only) starts them, replaces any that dies or hangs, "
        "and reloads them on SIGHUP; each has `--threads` threads and its own database pool. "
        "More than one with benben.cache.backend = `memory` is refused: cached reads would go "
        "stale between processes.",
    ),
    Setting(
        "benben.server.timeout",
        as_int(0, 3600),
        30,
        "Seconds a worker process may stop answering its master before it is killed and "
        "replaced (`timeout` in `[server:main]`; 0-3600, 0: never). A worker answers while its "
        "threads serve requests, however long they take: this catches a hung process (a "
        "deadlock, an extension holding the GIL), not a slow request. A starting worker counts as "
        "silent while it builds the app: keep it well above the start time. Only with more "
        "than one worker (Gunicorn).",
    ),
    Setting(
        "benben.server.graceful_timeout",
        as_int(1, 3600),
        30,
        "Seconds the requests in flight get to finish after SIGTERM, SIGINT or SIGHUP before "
        "their worker is killed (`graceful_timeout` in `[server:main]`; 1-3600). Keep it below "
        "the stop grace period of whatever stops Benben (Kubernetes' "
        "terminationGracePeriodSeconds, compose's stop_grace_period). Only with more than one "
        "worker (Gunicorn).",
    ),
)

# Every benben.server.* setting, as the configuration reference and `benben config` list them.
SERVER_SETTINGS: tuple[Setting, ...] = (*CONNECTION_SETTINGS, *PROCESS_SETTINGS)

# Not a setting: select() fails on descriptors above 1024, which a high connection limit reaches.
# waitress falls back to select() where poll() does not exist (Windows).
POLL = "asyncore_use_poll"


def _ini_key(setting: Setting) -> str:
    return setting.name[len(SERVER_PREFIX) :]


def resolve_server_settings(
    ini_conf: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, Any]:
    """waitress options from the settings: default < ``[server:main]`` key < environment.

    Raises :class:`ConfigurationError` naming the setting and where the bad value came from.
    """
    options = {_ini_key(s): _resolve(s, ini_conf, environ) for s in CONNECTION_SETTINGS}
    if POLL in ini_conf:
        try:
            use_poll = as_bool(ini_conf[POLL])
        except ValueError as exc:
            raise ConfigurationError(f"[server:main] {POLL}: {exc}") from None
        if not use_poll:
            raise ConfigurationError(
                f"[server:main] {POLL} = false: select() cannot watch more than 1024 sockets; "
                "remove the line (benben serve always uses poll)"
            )
    options[POLL] = True
    return options


def server_setting_keys() -> frozenset[str]:
    """The ``[server:main]`` keys these settings own (plus ``asyncore_use_poll``)."""
    return frozenset({*(_ini_key(s) for s in SERVER_SETTINGS), POLL})


@dataclass(frozen=True)
class ProcessSettings:
    """How many processes serve, and how long each may hang or take to stop."""

    workers: int | Literal["auto"]
    timeout: int
    graceful_timeout: int


def resolve_process_settings(
    ini_conf: Mapping[str, Any], environ: Mapping[str, str], workers: int | None = None
) -> ProcessSettings:
    """The process settings: default < ``[server:main]`` key < environment < ``workers`` (the
    command line's ``--workers``). Raises :class:`ConfigurationError` naming the setting."""
    values = {_ini_key(s): _resolve(s, ini_conf, environ) for s in PROCESS_SETTINGS}
    if workers is not None:
        values["workers"] = workers
    return ProcessSettings(**values)


def available_cpus(cgroup: Path = CGROUP) -> int:
    """CPUs this process may use: those it may run on (its affinity), fewer when its control
    group (a container's CPU limit: docker --cpus, Kubernetes limits.cpu) allows less time."""
    affinity = getattr(os, "sched_getaffinity", None)  # not on macOS and Windows
    cpus = len(affinity(0)) if affinity else os.cpu_count() or 1
    limit = cgroup_cpu_limit(cgroup)
    return max(1, min(cpus, math.ceil(limit))) if limit else cpus


def cgroup_cpu_limit(cgroup: Path = CGROUP) -> float | None:
    """CPUs' worth of time the control group allows (cgroup v2 ``cpu.max``, else v1's CFS quota);
    None without a limit. Inside a container its own group is the root of the mount."""
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def worker_count(process: ProcessSettings, app_settings: Mapping[str, Any]) -> int:
    """The processes to run: ``auto`` is one per CPU where every process shares the same state
    (PostgreSQL and a Redis cache), one otherwise. Raises :class:`ConfigurationError` for more
    than one with the in-process cache, or where Gunicorn does not run (Windows)."""
    backend = app_settings["benben.cache.backend"]
    if process.workers == WORKERS_AUTO:
        url = str(app_settings["benben.database.url"] or "")
        shared = url.startswith("postgresql") and backend == "redis"
        return available_cpus() if shared and sys.platform != "win32" else 1
    if process.workers > 1 and backend == "memory":
        raise ConfigurationError(
            f"benben.server.workers = {process.workers} needs a cache the processes share, but "
            "benben.cache.backend is memory: each process would keep serving cached reads that "
            "another one's writes made stale. Set benben.cache.backend = redis, or "
            "benben.server.workers = 1 (or auto)"
        )
    if process.workers > 1 and sys.platform == "win32":
        raise ConfigurationError(
            f"benben.server.workers = {process.workers}: several processes need Gunicorn, which "
            "runs on Unix only; on Windows set benben.server.workers = 1 and run more instances"
        )
    return process.workers


def _resolve(setting: Setting, ini_conf: Mapping[str, Any], environ: Mapping[str, str]) -> Any:
    key = _ini_key(setting)
    if setting.env in environ:
        return setting.parse(environ[setting.env], "env")
    if key in ini_conf and str(ini_conf[key]).strip():
        return setting.parse(ini_conf[key], f"[server:main] {key}")
    return setting.default


class FileLimitError(Exception):
    """The hard open-file limit is below what the connection limit needs."""


def ensure_file_limit(connection_limit: int, streams: int = 0) -> tuple[int, int] | None:
    """Make the soft open-file limit (``ulimit -n``) fit ``connection_limit``, and ``streams``
    (benben.realtime.max_subscribers: event streams handed off to the hub have left waitress's
    connections but are still sockets) as far as the hard limit allows.

    A server past its limit fails every ``accept()`` with EMFILE while the clients wait: raised to
    the hard limit when too low, refused with :class:`FileLimitError` when even that is too low
    for the connections. Streams that do not fit are only told (:func:`streams_beyond_limit`):
    a server that does not stream need not refuse to start for them. Returns ``(old, new)`` soft
    limits when it raised the limit (logged once logging is set up).
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows: no such limit to adjust
        return None
    needed = connection_limit + RESERVED_FILES
    wanted = needed + streams
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return None
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise FileLimitError(
            f"benben.server.connection_limit {connection_limit} needs {needed} open files "
            f"({RESERVED_FILES} besides the connections), but this process may open at most "
            f"{hard} (hard limit, ulimit -Hn): lower the connection limit or raise the limit"
        )
    # Up to the hard limit: what the process may open besides connections then has room too.
    target = wanted if hard == resource.RLIM_INFINITY else hard
    error: Exception | None = None
    # macOS: no more than OPEN_MAX below an infinite hard limit.
    for attempt in dict.fromkeys((target, wanted, needed)):
        if attempt <= soft:
            return None  # as high as it goes already: the streams beyond it are told
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (attempt, hard))
        except (ValueError, OSError) as exc:
            error = exc
            continue
        return soft, attempt
    raise FileLimitError(
        f"benben.server.connection_limit {connection_limit} needs {needed} open files, but the "
        f"limit ({soft}) cannot be raised: {error}"
    )


def stream_limit(app_settings: Mapping[str, Any]) -> int:
    """The event streams one process may hold: sockets beyond the connection limit."""
    if not app_settings.get("benben.realtime.enabled", True):
        return 0
    return int(app_settings.get("benben.realtime.max_subscribers", 0) or 0)


def streams_beyond_limit(connection_limit: int, streams: int) -> int:
    """How many of ``streams`` the soft open-file limit leaves no descriptor for (0: all fit)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return 0
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 0
    return max(0, connection_limit + RESERVED_FILES + streams - soft)
