"""Counting a request against its moving windows and reading them back, in one round trip.

The ``limits`` library counts (``hit``) and reads a window (``get_window_stats``, for the
``RateLimit-*`` headers) in separate calls: with Redis, two round trips per limit, four for a
write counted against its group and ``write``.  That was most of a cached read's cost.  Here one
Lua script does both for every limit of the request, on the library's own keys and layout (a
list of timestamps per key, newest first), so ``limits``' other calls (``test``, ``clear``) and
instances running either code agree.  The memory storage is called through its own methods (no
round trip), other storages through the library's.  With Redis or memory a busy key is counted a
lease of several slots at a time (:mod:`.lease`).

Counted at most once: a connection that fails is sent the script again (a Redis restart drops
idle connections), but the first send may have reached Redis and run before its reply was lost
(a timeout).  Each call therefore carries a key of its own; the script records in it what it
counted, and a second run of the same call only reads the windows back.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from limits import WindowStats
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

from benben.cache.redis_direct import DirectRedis
from benben.observability.outage import OutageGuard
from benben.ratelimit.lease import MOST, Answers, Entries, Fetch, Leases

__all__ = ["WindowCounter"]

# A call's own key outlives its retry, which follows the failed send at once (within one
# connect timeout), and is gone soon after: one short string per request, for a few seconds.
ONCE_TTL = 5
# KEYS: the call's own key, then one list per limit.  ARGV: timestamp, cost, the call's key's
# lifetime, extra slots wanted (a lease, see .lease), then (limit, expiry) per list.  Each list
# is counted as the library's acquire_moving_window.lua does (``cost`` entries when they fit),
# plus the extra slots that fit in every list (none when any list refused); then read back as
# its moving_window.lua does.  Answer: {extra granted, then per list {acquired (0|1), oldest
# timestamp in the window (or the current one), entries in the window}}.  The call's key holds
# what was decided ("1" or "0" per list, ":", extra granted): a call run again (its reply lost)
# counts nothing and answers the same.  Entries older than the window are trimmed as the list is
# written: the binary search then walks a list no longer than the window.
_HIT_AND_READ = """
local timestamp = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local lists = #KEYS - 1
local limits, expiries, counts = {}, {}, {}
for n = 1, lists do
    local key, limit, expiry = KEYS[n + 1], tonumber(ARGV[3 + 2 * n]), tonumber(ARGV[4 + 2 * n])
    local target = timestamp - expiry
    local low, high, found = 0, math.min(limit, redis.call('llen', key)) - 1, -1
    while low <= high do
        local mid = math.floor((low + high) / 2)
        local value = tonumber(redis.call('lindex', key, mid))
        if value and value >= target then
            found = mid
            low = mid + 1
        else
            high = mid - 1
        end
    end
    limits[n], expiries[n], counts[n] = limit, expiry, found + 1
end
local counted = redis.call('get', KEYS[1])
local acquired, granted = {}, 0
if counted then
    for n = 1, lists do
        acquired[n] = tonumber(string.sub(counted, n, n))
    end
    granted = tonumber(string.sub(counted, lists + 2))
else
    granted = tonumber(ARGV[4])
    for n = 1, lists do
        local free = limits[n] - counts[n] - cost
        acquired[n] = free >= 0 and 1 or 0
        granted = math.max(0, math.min(granted, free))
    end
    for n = 1, lists do
        if acquired[n] == 1 then
            local key, amount = KEYS[n + 1], cost + granted
            local entries = {}
            for j = 1, amount do
                entries[j] = timestamp
            end
            for j = 1, amount, 5000 do
                redis.call('lpush', key, unpack(entries, j, math.min(j + 4999, amount)))
            end
            counts[n] = counts[n] + amount
            redis.call('ltrim', key, 0, counts[n] - 1)
            redis.call('expire', key, expiries[n])
        end
    end
    redis.call('set', KEYS[1], table.concat(acquired) .. ':' .. granted, 'EX', tonumber(ARGV[3]))
end
local results = {granted}
for n = 1, lists do
    local oldest = tostring(timestamp)
    if counts[n] > 0 then
        oldest = redis.call('lindex', KEYS[n + 1], counts[n] - 1)
    end
    results[n + 1] = {acquired[n], oldest, counts[n]}
end
return results
"""


class WindowCounter:
    """Counts ``cost`` against several moving-window limits and reads each back; a busy key's
    requests from leased slots (:mod:`.lease`) with Redis or memory."""

    def __init__(
        self, storage: Any, guard: OutageGuard | None = None, lease_slots: int = MOST
    ) -> None:
        """``guard``: the storage's calls go through it (None when they fail); a request served
        from a lease calls nothing.  ``lease_slots``: the most of one lease (1: none)."""
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self._guard = guard
        # Exactly RedisStorage: its subclasses (cluster) may not run a script over several keys.
        self._redis = _ScriptRunner(storage) if type(storage) is RedisStorage else None
        if self._redis is not None:
            self.leases: Leases | None = Leases(self._guarded(self._fetch_redis), most=lease_slots)
        elif isinstance(storage, MemoryStorage):
            self.leases = Leases(self._guarded(self._fetch_memory), most=lease_slots)
        else:
            self.leases = None
            self._fetch_other = self._guarded(self._fetch_library)

    def hit(self, entries: Entries, cost: int) -> Answers | None:
        """For each ``(item, identifiers)``: whether ``cost`` fit in the window, and the
        window's stats after counting (reset time, remaining); None when the storage failed."""
        if self.leases is not None:
            return self.leases.hit(entries, cost)
        fetched = self._fetch_other(entries, cost, 0)
        return None if fetched is None else fetched[0]

    def _guarded(self, fetch: Fetch) -> Fetch:
        guard = self._guard
        if guard is None:
            return fetch
        return lambda entries, cost, extra: guard.call("hit", lambda: fetch(entries, cost, extra))

    def _fetch_library(self, entries: Entries, cost: int, extra: int) -> tuple[Answers, int]:
        answers = [
            (
                self.limiter.hit(item, *identifiers, cost=cost),
                self.limiter.get_window_stats(item, *identifiers),
            )
            for item, identifiers in entries
        ]
        return answers, 0

    def _fetch_redis(self, entries: Entries, cost: int, extra: int) -> tuple[Answers, int]:
        assert self._redis is not None
        prefixed = self.storage.prefixed_key
        once = prefixed(f"once/{secrets.token_hex(12)}")
        keys = [once] + [prefixed(item.key_for(*ids)) for item, ids in entries]
        arguments: list[Any] = [time.time(), cost, ONCE_TTL, extra]
        for item, _ in entries:
            arguments += [item.amount, item.get_expiry()]
        granted, *answers = self._redis.run(keys, arguments)
        return [
            (bool(acquired), WindowStats(float(oldest) + item.get_expiry(), item.amount - count))
            for (item, _), (acquired, oldest, count) in zip(entries, answers, strict=True)
        ], int(granted)

    def _fetch_memory(self, entries: Entries, cost: int, extra: int) -> tuple[Answers, int]:
        """The storage's own calls; ``cost`` plus the extra slots every window has room for,
        as the script decides.  A window filled meanwhile by another thread takes ``cost`` only
        and the lease gets none: slots already taken in the windows before it stay counted,
        unused (towards refusing, never towards admitting more)."""
        storage: MemoryStorage = self.storage
        keys = [item.key_for(*ids) for item, ids in entries]
        granted = extra
        for (item, _), key in zip(entries, keys, strict=True):  # what every window has left
            if granted:
                _, count = storage.get_moving_window(key, item.amount, item.get_expiry())
                granted = max(0, min(granted, item.amount - count - cost))
        answers = []
        for (item, _), key in zip(entries, keys, strict=True):
            amount, expiry = item.amount, item.get_expiry()
            took = bool(granted) and storage.acquire_entry(key, amount, expiry, cost + granted)
            if not took:
                granted = 0
                took = storage.acquire_entry(key, amount, expiry, cost)
            start, count = storage.get_moving_window(key, amount, expiry)
            answers.append((took, WindowStats(start + expiry, amount - count)))
        return answers, granted


class _ScriptRunner:
    """Runs the script on connections made like the storage's own (URL, timeouts, TLS), kept
    by a :class:`~benben.cache.redis_direct.DirectRedis`: one send and one receive a request."""

    def __init__(self, storage: RedisStorage) -> None:
        import redis.exceptions  # the redis extra: present whenever a RedisStorage exists

        self._errors = redis.exceptions
        self._redis = DirectRedis(storage.get_connection().connection_pool)
        self._sha = hashlib.sha1(_HIT_AND_READ.encode()).hexdigest()  # noqa: S324 - Redis's name

    def run(self, keys: list[str], arguments: list[Any]) -> Any:
        """Run the script; once more on a failed connection (one dropped while idle, or a reply
        lost: the call's own key, ``keys[0]``, makes the second run count nothing more)."""
        try:
            return self._send(keys, arguments)
        except self._errors.ConnectionError:
            return self._send(keys, arguments)

    def _send(self, keys: list[str], arguments: list[Any]) -> Any:
        try:
            return self._redis.execute("EVALSHA", self._sha, len(keys), *keys, *arguments)
        except self._errors.NoScriptError:  # a restarted Redis forgot it: send it whole
            return self._redis.execute("EVAL", _HIT_AND_READ, len(keys), *keys, *arguments)
