"""Counting a caller's requests against the limits of a group, and the ``RateLimit-*`` headers.

Who is counted: the user (``user:<id>``) when the request carries a valid credential, else the
client address (made trustworthy by :mod:`benben.hardening.proxies`).

Strategy: the moving window.  A fixed window lets a client spend twice its limit around a window
boundary (the end of one window and the start of the next), which matters most for the small
limits guarding logins; the moving window holds exactly, and ``Retry-After`` says when the oldest
counted request leaves it.  It stores one timestamp per counted request, bounded by the limit.

API for views (a batch endpoint counting each operation)::

    from benben.ratelimit.counting import count_request
    count_request(request, "write", cost=len(operations))  # raises the 429 ProblemError
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

from limits import RateLimitItem
from pyramid.request import Request

from benben.errors import ProblemError
from benben.observability.metrics import get_metrics
from benben.ratelimit.rules import LIMITS_KEY, RateLimits
from benben.ratelimit.store import get_limit_store

__all__ = [
    "DECISIONS_ENVIRON_KEY",
    "Decision",
    "buckets_for",
    "count_against",
    "count_request",
    "headers_of",
    "principal_key",
    "too_many",
]

# Decisions of this request, kept in the environ so that a retried attempt (pyramid_retry) is not
# counted twice and count_request() can tighten the headers the tween sets.
DECISIONS_ENVIRON_KEY = "benben.ratelimit.decisions"


class Decision(NamedTuple):
    """One limit checked for this request: what the RateLimit-* headers report."""

    limit: int
    remaining: int
    reset_after: int  # seconds until the window frees a slot
    allowed: bool
    group: str = "default"  # the bucket counted: a configured group, or "default"


def principal_key(request: Request) -> str:
    """``user:<id>`` for a request with a valid credential, else ``addr:<client address>``.

    An invalid credential raises its 401 from ``request.identity``; callers let it through.
    """
    if request.environ.get("HTTP_AUTHORIZATION"):
        identity = request.identity
        if identity is not None:
            return f"user:{identity.user_id}"
    return f"addr:{request.client_addr or 'unknown'}"


def count_against(
    request: Request, key: str, buckets: list[tuple[str, tuple[RateLimitItem, ...]]], cost: int
) -> list[Decision]:
    """Count ``cost`` against every limit of ``buckets`` for ``key``, one decision per limit; none
    while the storage is down (served unlimited)."""
    entries = [(item, (bucket, key)) for bucket, items in buckets for item in items]
    answers = get_limit_store(request.registry).hit_all(entries, cost)
    if answers is None:  # the storage is down: served unlimited
        return []
    now = time.time()
    decisions = []
    for (item, (bucket, _)), (allowed, stats) in zip(entries, answers, strict=True):
        reset_after = math.ceil(stats.reset_time - now)
        if reset_after < 1:
            reset_after = 0 if allowed else 1
        remaining = stats.remaining if stats.remaining > 0 else 0
        decisions.append(Decision(item.amount, remaining, reset_after, allowed, bucket))
    return decisions


def headers_of(decisions: list[Decision]) -> dict[str, str]:
    """RateLimit-* of the tightest limit (a refused one first, then the fewest remaining)."""
    if len(decisions) == 1:
        tightest = decisions[0]
    else:
        tightest = min(decisions, key=lambda d: (d.allowed, d.remaining, -d.reset_after))
    headers = {
        "RateLimit-Limit": str(tightest.limit),
        "RateLimit-Remaining": str(tightest.remaining),
        "RateLimit-Reset": str(tightest.reset_after),
    }
    if not tightest.allowed:
        headers["Retry-After"] = str(tightest.reset_after)
    return headers


def too_many(request: Request, decisions: list[Decision]) -> ProblemError:
    """The 429 for decisions of which one refused, counted in the rejections metric."""
    refused = next(d for d in decisions if not d.allowed)
    get_metrics(request.registry).ratelimit_rejected(refused.group)
    headers = headers_of(decisions)
    return ProblemError(
        429,
        detail=f"Rate limit exceeded; retry in {headers['Retry-After']} seconds.",
        headers=headers,
    )


def buckets_for(config: RateLimits, group: str | None) -> tuple[str, tuple[RateLimitItem, ...]]:
    """``group`` and its limits when configured, else the default limit."""
    if group is not None and group in config.groups:
        return group, config.groups[group]
    return "default", config.default


def count_request(request: Request, group: str | None, cost: int = 1) -> None:
    """Count ``cost`` requests of this caller against ``group`` (the default limit when the group
    is not configured); raise the 429 ProblemError when over the limit.  No-op when disabled."""
    config: RateLimits = request.registry[LIMITS_KEY]
    if not config.enabled or cost < 1:
        return
    key = principal_key(request)
    decisions = count_against(request, key, [buckets_for(config, group)], cost)
    request.environ.setdefault(DECISIONS_ENVIRON_KEY, []).extend(decisions)
    if any(not d.allowed for d in decisions):
        raise too_many(request, decisions)
