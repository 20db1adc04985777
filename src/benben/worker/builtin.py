"""Core's periodic tasks: sweeps that delete what retention no longer keeps.

Each is idempotent and safe on several workers at once (deletes by condition: a second run, or
a concurrent one, finds nothing left), and each interval is a setting (0 turns it off):

- ``benben.events.prune`` (``benben.worker.feed_prune_seconds``): the change feed's retention
  (``benben.events.retention_hours``, never what an active durable consumer has not read);
- ``benben.data.purge`` (``benben.worker.data_purge_seconds``): tombstones and history past
  their retention, what ``benben data purge`` does;
- ``benben.security.cleanup_tokens`` (``benben.worker.token_cleanup_seconds``): expired refresh
  tokens, and revoked access tokens' rows once the token has expired anyway.
"""

from __future__ import annotations

from pyramid.config import Configurator
from sqlalchemy import delete

from benben.worker.app import WAKE_TASK
from benben.worker.tasks import TaskContext

__all__ = [
    "BUILTIN_TASKS",
    "WAKE_TASK",
    "cleanup_tokens",
    "includeme",
    "prune_feed",
    "purge_data",
    "wake",
]

HOUR_MS = 3_600_000


def prune_feed(ctx: TaskContext) -> int:
    """Delete the feed's events past retention; the number deleted."""
    from benben.events.feed import prune

    settings = ctx.settings
    with ctx.transaction() as request:
        return prune(
            request.dbsession,
            retention_ms=settings["benben.events.retention_hours"] * HOUR_MS,
            consumer_expiry_ms=settings["benben.events.consumer_expiry_hours"] * HOUR_MS,
        )


def purge_data(ctx: TaskContext) -> dict[str, int]:
    """Delete tombstones and history entries past retention: ``{"tombstones", "history"}``."""
    from benben.data.retention import purge

    with ctx.transaction() as request:
        return purge(request.dbsession, ctx.settings)


def cleanup_tokens(ctx: TaskContext) -> dict[str, int]:
    """Delete expired refresh tokens and expired revoked-access-token rows."""
    from benben.security.models import RefreshToken, RevokedAccessToken
    from benben.timestamps import utcnow

    now = utcnow()
    with ctx.transaction() as request:
        session = request.dbsession
        refresh = session.execute(delete(RefreshToken).where(RefreshToken.expires_at < now))
        revoked = session.execute(
            delete(RevokedAccessToken).where(RevokedAccessToken.expires_at < now)
        )
        return {"refresh_tokens": int(refresh.rowcount or 0), "revoked": int(revoked.rowcount or 0)}


def wake(ctx: TaskContext) -> None:
    """Nothing: sent to an embedded worker waiting for messages, so that it sees it must stop."""


# name -> (function, the setting of its interval)
BUILTIN_TASKS = {
    "benben.events.prune": (prune_feed, "benben.worker.feed_prune_seconds"),
    "benben.data.purge": (purge_data, "benben.worker.data_purge_seconds"),
    "benben.security.cleanup_tokens": (cleanup_tokens, "benben.worker.token_cleanup_seconds"),
}


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    config.add_task(WAKE_TASK, wake)
    for name, (func, interval) in BUILTIN_TASKS.items():
        config.add_task(name, func)
        config.add_periodic_task(name, settings[interval])
