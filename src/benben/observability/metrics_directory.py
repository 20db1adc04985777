"""The directory in which prometheus_client's multiprocess mode keeps every worker's metrics,
on Gunicorn's master's side (``benben serve --workers N``, N > 1).

prometheus_client chooses its storage when it is first imported, from ``PROMETHEUS_MULTIPROC_DIR``:
so the master sets the variable before anything imports prometheus_client (this module never
does at import time), and the workers it forks inherit it.  The directory is made fresh and
private (``0700``, :func:`tempfile.mkdtemp`) at each master start, emptied of what the master's
own settings check wrote, and removed when the master ends; a master killed with ``SIGKILL``
leaves it in the temporary directory.  A worker that leaves is marked dead, so that its
``live*`` gauges (requests in flight, database connections) stop counting; its counters stay.

One process (waitress alone, the tests, ``--workers 1``) involves no directory at all.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "MULTIPROCESS_ENVIRON_KEY",
    "empty_metrics_directory",
    "multiprocess_directory",
    "shared_metrics_directory",
    "worker_exited",
]

MULTIPROCESS_ENVIRON_KEY = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own variable


def multiprocess_directory() -> str | None:
    """The directory this process shares its metrics through, or None (one process)."""
    return os.environ.get(MULTIPROCESS_ENVIRON_KEY) or None


@contextlib.contextmanager
def shared_metrics_directory(enabled: bool = True) -> Iterator[str | None]:
    """A fresh private directory, named in the environment the workers inherit, removed at exit
    by the process that made it (a forked worker leaving through an exception does not)."""
    if not enabled:
        yield None
        return
    directory = tempfile.mkdtemp(prefix="benben-metrics-")
    owner = os.getpid()
    previous = os.environ.get(MULTIPROCESS_ENVIRON_KEY)
    os.environ[MULTIPROCESS_ENVIRON_KEY] = directory
    try:
        yield directory
    finally:
        if os.getpid() == owner:
            if previous is None:
                os.environ.pop(MULTIPROCESS_ENVIRON_KEY, None)
            else:
                os.environ[MULTIPROCESS_ENVIRON_KEY] = previous
            shutil.rmtree(directory, ignore_errors=True)


def empty_metrics_directory(directory: str) -> None:
    """Remove the files in ``directory``: the master checked its settings by building the app
    once, which wrote (empty) metrics under its own pid; only the workers' count."""
    for path in Path(directory).iterdir():
        path.unlink(missing_ok=True)


def worker_exited(pid: int) -> None:
    """Gunicorn's ``child_exit``: the worker's ``live*`` gauges are removed, its counters kept."""
    directory = multiprocess_directory()
    if directory is None:
        return
    # Imported here: the master must not import prometheus_client before it set the directory.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, directory)
