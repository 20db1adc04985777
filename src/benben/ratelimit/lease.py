"""Leased slots: a busy key's requests admitted from slots counted ahead, with no round trip.

Counting every request in the storage costs a round trip and a script run in Redis per request,
most of a cached read's cost.  A process that sees a key busy therefore counts several requests
at once (one script run, the request's own ``cost`` plus ``extra`` slots) and admits the key's
following requests from those slots locally, until they are spent or the lease expires.

Exact or conservative, never over the limit as counted:

- every leased slot is counted in the storage when leased, so the storage never holds more than
  the limit; slots leased but not used still count against the caller (at most one lease per key
  and process, of at most :data:`MOST` slots);
- a request admitted from a lease was counted up to :data:`LIFETIME` seconds before it ran: its
  entry leaves the moving window that much early, so over any window a key may be served up to
  the slots of one lease per process more than its limit (``MOST`` x processes at most);
- a lease is never more than ``limit // FRACTION`` slots of the tightest of its limits: a key
  whose limit is under ``2 * FRACTION`` (logins, 30/minute) gets no lease and is counted exactly,
  one round trip per request as before.

The size follows the key's local rate: a key seen once gets no lease (size 1), a lease spent
within its lifetime is followed by one twice its size, one that expired is followed by one of
what was used per lifetime.  Refusals (429) and ``Retry-After`` only ever come from the storage.
``RateLimit-Remaining`` of a request admitted from a lease is what the storage had left after
the lease plus the lease's unused slots.

Threads: one lock per table, held for a few dictionary operations.  At most one thread fetches
a key's lease; others wait for it (at most a lifetime) and take a slot, or go to the storage
themselves without a lease.  Leases belong to a process: a forked child starts with none.  While
the storage is down a lease's slots are still served (they were counted); then requests are
served unlimited, as without leases.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

from limits import RateLimitItem, WindowStats

from benben.cache.after_fork import reset_in_child

__all__ = ["FRACTION", "LIFETIME", "MOST", "Answers", "Entries", "Fetch", "Leases"]

LIFETIME = 1.0  # seconds a leased slot may wait for its request
MOST = 32  # slots of one lease at most (the default of benben.ratelimit.lease_slots)
FRACTION = 64  # and at most this fraction of the tightest limit
KEEP = 2 * LIFETIME  # a key idle this long is forgotten (seen once again next time)

Entries = Sequence[tuple[RateLimitItem, tuple[str, ...]]]
Answers = list[tuple[bool, WindowStats]]
# (entries, cost, extra) -> (an answer per entry, extra slots granted: 0 when any refused), or
# None when the storage could not answer (the request is then served unlimited)
Fetch = Callable[[Entries, int, int], tuple[Answers, int] | None]


class _Lease:
    __slots__ = ("ceiling", "expires", "fetched", "fetching", "left", "size", "stats")

    def __init__(self, ceiling: int, now: float) -> None:
        self.ceiling = ceiling  # the most slots a lease of this key may hold
        self.size = 1  # slots counted by the last fetch (the request's own included)
        self.left = 0  # of which not yet used
        self.fetched = now
        self.expires = now
        # A fetch in flight: the extra slots it asked (others wait for them), -1 when it asked
        # none (others do not wait), 0 when there is none.
        self.fetching = 0
        self.stats: tuple[tuple[float, int], ...] = ()  # (reset time, remaining) per entry

    def next_size(self, now: float) -> int:
        """The size of the next lease, from how fast the last one was used."""
        elapsed = now - self.fetched
        if self.left == 0 and elapsed < LIFETIME:
            size = 2 * self.size  # spent before it expired: the key is busier than that
        else:
            size = int((self.size - self.left) * LIFETIME / max(elapsed, LIFETIME))
        return max(1, min(size, self.ceiling))


class Leases:
    """Admits requests from leased slots, fetching leases with ``fetch``."""

    def __init__(
        self, fetch: Fetch, clock: Callable[[], float] = time.monotonic, most: int = MOST
    ) -> None:
        """``most``: slots of one lease at most (``benben.ratelimit.lease_slots``)."""
        self._fetch = fetch
        self._most = most
        self._clock = clock
        self._reset()
        reset_in_child(self, "_reset")

    def _reset(self) -> None:
        # A child must not inherit a lock held by a parent's thread, nor the parent's slots
        # (the parent still uses them).
        self._lock = threading.Lock()
        self._fetched = threading.Condition(self._lock)
        self._leases: OrderedDict[Hashable, _Lease] = OrderedDict()

    def __len__(self) -> int:
        return len(self._leases)

    def hit(self, entries: Entries, cost: int) -> Answers | None:
        """For each ``(item, identifiers)``: whether ``cost`` fit, and the window's stats; None
        when the storage could not answer."""
        # A limit by its value, read from its attributes: hashing the object costs more.
        key = tuple([(type(item), item.amount, item.multiples, ids) for item, ids in entries])
        now = self._clock()
        extra = 0
        with self._lock:
            lease = self._leases.get(key)
            if lease is None:
                ceiling = min(self._most, min(item.amount for item, _ in entries) // FRACTION)
                if ceiling >= 2:  # else a small limit: always counted exactly, no lease
                    # Seen once: counted on its own, remembered to be recognised as busy.
                    lease = self._leases[key] = _Lease(ceiling, now)
                    lease.fetching = -1
            else:
                if (answers := self._take(lease, cost, now)) is not None:
                    return answers
                if lease.fetching > 0:  # slots are on their way: wait for them
                    self._fetched.wait_for(lambda: lease.fetching <= 0, LIFETIME)
                    now = self._clock()
                    if (answers := self._take(lease, cost, now)) is not None:
                        return answers
                if lease.fetching:  # another thread fetches: this one is counted on its own
                    lease = None
                else:
                    extra = max(0, lease.next_size(now) - cost)
                    lease.fetching = extra or -1
        if lease is None:
            fetched = self._fetch(entries, cost, 0)
            return None if fetched is None else fetched[0]
        fetched = None
        try:
            fetched = self._fetch(entries, cost, extra)
        finally:
            answers, granted = fetched or (None, 0)
            with self._lock:
                lease.fetching = 0
                lease.size, lease.left = cost + granted, granted
                lease.fetched, lease.expires = now, now + LIFETIME
                if answers and granted:
                    lease.stats = tuple((s.reset_time, s.remaining) for _, s in answers)
                if self._leases.get(key) is lease:  # not dropped by a fork meanwhile
                    self._leases.move_to_end(key)
                self._forget_idle(now)
                self._fetched.notify_all()
        if granted:  # this request's remaining counts the slots leased after it, as theirs will
            return [
                (True, WindowStats(reset, remaining + granted)) for reset, remaining in lease.stats
            ]
        return answers

    def _take(self, lease: _Lease, cost: int, now: float) -> Answers | None:
        """``cost`` slots from ``lease`` (the lock held), or None when it has too few left."""
        if lease.left < cost or now >= lease.expires:
            return None
        lease.left -= cost
        left = lease.left
        return [(True, WindowStats(reset, remaining + left)) for reset, remaining in lease.stats]

    def _forget_idle(self, now: float) -> None:
        """Drop the keys not fetched for a while (oldest first: fetching moves a key last)."""
        leases = self._leases
        for _ in range(4):  # a few per fetch: the lock stays short, the table bounded
            if not leases:
                return
            key, lease = next(iter(leases.items()))
            if lease.fetching or now - lease.fetched < KEEP:
                return
            del leases[key]
