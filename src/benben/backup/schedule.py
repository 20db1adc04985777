"""Scheduled backups: the worker's task ``benben.backup.scheduled`` (see docs/backups.md).

With ``benben.backup.interval_hours`` > 0 the scheduler sends it every interval.  A run writes
one archive to ``benben.backup.target`` (what ``benben backup`` does), then applies retention
(``keep_daily``, ``keep_weekly``) to the target, and reports the outcome three ways: metrics
(:mod:`benben.backup.metrics`), an event in the change feed (``backup.completed`` or
``backup.failed``, which webhooks deliver) and, for a failure, a log line with the reason.

A scheduler sends every periodic task once as soon as it takes the lock (a restart, a
takeover), so a run first looks at the target: when its newest archive is younger than half
the interval, it does nothing but note that archive as the last success.  Restarts then never
pile up archives, and the longest gap between two backups is one and a half intervals.

A failed run is not retried before the next interval (a backup of a large database is not
something to loop on); the failure metric, the event and the alert say so.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import time
from typing import Any

from pyramid.config import Configurator

from benben.backup.dump import create_backup
from benben.backup.format import ArchiveError
from benben.backup.metrics import backup_metrics
from benben.backup.retention import apply_retention
from benben.backup.targets import BackupError, Target, open_target
from benben.events.feed import publish
from benben.worker.tasks import TaskContext

__all__ = ["TASK", "includeme", "redact_credentials", "scheduled_backup"]

log = logging.getLogger(__name__)

TASK = "benben.backup.scheduled"
HOUR = 3600
# user:password@ (or a lone token@) after a URL's scheme: never logged nor published.
_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")


def redact_credentials(text: str) -> str:
    """``text`` with the credentials of any URL in it removed (``s3://key:secret@bucket``)."""
    return _CREDENTIALS.sub(r"\g<scheme>", text)


def interval_seconds(settings: Any) -> int:
    return int(settings["benben.backup.interval_hours"]) * HOUR


def scheduled_backup(ctx: TaskContext) -> dict[str, Any]:
    """Write an archive to the configured target and apply retention, unless the target's
    newest archive is younger than half the interval; what was done (``outcome``: ``success``,
    ``skipped`` or ``failure``).  A failure is counted, published and logged, never raised:
    the next interval tries again."""
    registry = ctx.registry
    settings = ctx.settings
    target_text = redact_credentials(
        str(settings["benben.backup.target"])
        or os.path.join(settings["benben.data_dir"], "backups")
    )
    metrics = backup_metrics(registry)
    started = time.perf_counter()
    step = ""  # what failed, when it is not the backup itself
    try:
        now = datetime.datetime.now(datetime.UTC)
        output = scheduled_output(settings)
        target = open_target(settings, output)
        newest = _newest_archive_time(target)
        interval = interval_seconds(settings)
        if newest is not None and (now - newest).total_seconds() < interval / 2:
            metrics.noted(newest.timestamp())
            log.info("scheduled backup skipped: the target's newest archive is from %s", newest)
            return {"outcome": "skipped", "newest": newest.isoformat()}
        result = create_backup(registry, output, now=now)
        step = "retention, after writing " + result.location
        deleted = apply_retention(
            target,
            settings["benben.backup.keep_daily"],
            settings["benben.backup.keep_weekly"],
            datetime.datetime.now(datetime.UTC),
        )
    except Exception as exc:
        # Benben's own errors say what is wrong; anything else is named by its type too.
        said = (
            str(exc)
            if isinstance(exc, BackupError | ArchiveError)
            else f"{type(exc).__name__}: {exc}"
        )
        reason = redact_credentials(f"{step}: {said}" if step else said).splitlines()[0]
        metrics.failed(time.time())
        log.error("scheduled backup to %s failed: %s", target_text, reason)
        log.debug("scheduled backup failure", exc_info=True)
        _publish(ctx, "backup.failed", {"error": reason, "target": target_text})
        return {"outcome": "failure", "error": reason}
    seconds = time.perf_counter() - started
    metrics.succeeded(finished_at=time.time(), size=result.size, seconds=seconds)
    data = {
        "location": redact_credentials(str(result.location)),
        "size": result.size,
        "rows": result.rows,
        "files": result.files,
        "seconds": round(seconds, 3),
    }
    log.info(
        "scheduled backup written to %s (%d bytes, %d rows, %d files, %.1f s); %d old "
        "archives deleted",
        data["location"],
        result.size,
        result.rows,
        result.files,
        seconds,
        len(deleted),
    )
    _publish(ctx, "backup.completed", data)
    return {"outcome": "success", **data, "deleted": list(deleted)}


def _publish(ctx: TaskContext, event_type: str, data: dict[str, Any]) -> None:
    # A transaction of its own: the backup read in a snapshot and wrote nothing.  The database
    # may be what failed: then the log line and the metric are all there is.
    try:
        with ctx.transaction() as request:
            publish(request, event_type, data)
    except Exception as exc:
        log.warning("%s event not published (%s: %s)", event_type, type(exc).__name__, exc)


def scheduled_output(settings: Any) -> str:
    """The target setting as ``benben backup --output`` reads it: always a directory (created
    when missing) or a bucket, never one file name that each run would overwrite."""
    target = str(settings["benben.backup.target"] or "")
    if not target or target.startswith("s3://") or target.endswith(("/", os.sep)):
        return target
    return target + "/"


def _newest_archive_time(target: Target) -> datetime.datetime | None:
    archives = target.list()
    return archives[-1].created_at if archives else None


def includeme(config: Configurator) -> None:
    seconds = interval_seconds(config.get_settings())
    if seconds <= 0:
        return
    registry = config.registry
    config.add_task(TASK, scheduled_backup)
    config.add_periodic_task(TASK, seconds)
    # Made now, at 0, rather than at the first run: a first failure is then an increase.
    config.action(("benben.backup.metrics",), lambda: backup_metrics(registry).configured(seconds))
