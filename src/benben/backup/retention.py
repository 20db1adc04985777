"""Which archives a target keeps: the newest of each of the last ``keep_daily`` days and of each of
the last ``keep_weekly`` ISO weeks (UTC), counting only days and weeks that have an archive (as
restic and borg do: backups that stopped for a while never let the last good ones age out).

Only names ``benben-backup-<time>Z.tar`` are ever considered, so a file someone put next to the
archives is never deleted; the newest archive is always kept, whatever the settings.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

from benben.backup.targets import ArchiveInfo, Target, archive_time

__all__ = ["apply_retention", "archives_to_keep"]


def archives_to_keep(
    archives: Iterable[tuple[str, datetime.datetime]],
    keep_daily: int,
    keep_weekly: int,
    now: datetime.datetime,
) -> set[str]:
    """The names kept of ``(name, created_at)`` pairs.  Archives dated after ``now`` (a clock
    that moved back) are kept and not counted: nothing about them is known to be old."""
    past, kept = [], set()
    for name, created in archives:
        if created > now:
            kept.add(name)
        else:
            past.append((created, name))
    past.sort(reverse=True)  # newest first
    if past:
        kept.add(past[0][1])
    kept |= _newest_per_period(past, keep_daily, lambda moment: moment.date())
    kept |= _newest_per_period(past, keep_weekly, lambda moment: moment.isocalendar()[:2])
    return kept


def _newest_per_period(
    newest_first: Sequence[tuple[datetime.datetime, str]],
    periods: int,
    period_of: Callable[[datetime.datetime], Hashable],
) -> set[str]:
    kept: dict[Any, str] = {}
    for created, name in newest_first:
        period = period_of(created.astimezone(datetime.UTC))
        if period not in kept:
            if len(kept) == periods:
                break
            kept[period] = name
    return set(kept.values())


def apply_retention(
    target: Target,
    keep_daily: int,
    keep_weekly: int,
    now: datetime.datetime | None = None,
) -> list[str]:
    """Delete the target's archives that retention does not keep; the names deleted, oldest
    first."""
    now = now or datetime.datetime.now(datetime.UTC)
    archives: list[ArchiveInfo] = target.list()
    dated = [(info.name, archive_time(info.name) or info.created_at) for info in archives]
    kept = archives_to_keep(dated, keep_daily, keep_weekly, now)
    deleted = []
    for name, _created in sorted(dated, key=lambda pair: pair[1]):
        if name not in kept:
            target.delete(name)
            deleted.append(name)
    return deleted
