"""When a delivery is tried again: the published retry schedule, with jitter, and Retry-After.

A delivery is tried at once, then after each delay of :data:`RETRY_SCHEDULE` (counted from the
previous attempt): ten attempts over about a day (23.6 hours before jitter), after the
last of which it is ``failed``.  Each delay is spread by ±:data:`JITTER` so that the retries of
deliveries that failed together (a receiver's outage) do not come back together.  A receiver
that answers 429 or 5xx with ``Retry-After`` is not tried again before then (at most
:data:`MAX_RETRY_AFTER` later than the schedule's slot).
"""

from __future__ import annotations

import datetime
import email.utils
import random
from collections.abc import Callable

__all__ = [
    "JITTER",
    "MAX_RETRY_AFTER",
    "RETRY_SCHEDULE",
    "next_attempt_at",
    "retry_after_seconds",
]

# Seconds before each attempt, from the previous one: immediately, 5 s, 1 min, 5 min, 30 min,
# 1 h, 2 h, 4 h, 8 h, 8 h: quick retries for a blip, then doubling to outlast an outage, about
# a day in all (what issue #16 asks; Stripe and Svix retry for days, Benben keeps its delivery
# log and redelivery for longer outages).
RETRY_SCHEDULE: tuple[int, ...] = (
    0,
    5,
    60,
    5 * 60,
    30 * 60,
    3600,
    2 * 3600,
    4 * 3600,
    8 * 3600,
    8 * 3600,
)
JITTER = 0.1  # each delay ±10%
MAX_RETRY_AFTER = 24 * 3600  # a Retry-After beyond the schedule's slot, at most this further


def next_attempt_at(
    attempts_made: int,
    now: datetime.datetime,
    *,
    retry_after: float | None = None,
    uniform: Callable[[float, float], float] = random.uniform,
) -> datetime.datetime | None:
    """When to try again after ``attempts_made`` attempts all failed (the latest at ``now``);
    None once the schedule is used up.  ``retry_after``: seconds the receiver asked for."""
    if attempts_made >= len(RETRY_SCHEDULE):
        return None
    delay = float(RETRY_SCHEDULE[attempts_made])
    delay += uniform(-JITTER, JITTER) * delay
    if retry_after is not None and retry_after > delay:
        delay = min(retry_after, delay + MAX_RETRY_AFTER)
    return now + datetime.timedelta(seconds=max(delay, 0.0))


def retry_after_seconds(value: str | None, now: datetime.datetime | None = None) -> float | None:
    """A ``Retry-After`` header's delay in seconds (delta-seconds or an HTTP date); None when
    absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    now = now or datetime.datetime.now(datetime.UTC)
    return max((moment - now).total_seconds(), 0.0)
