"""Counting a request against its moving windows and reading them back, in one round trip.

The ``limits`` library counts (``hit``) and reads a window (``get_window_stats``, for the
``RateLimit-*`` headers) in separate calls: with Redis, two round trips per limit, four for a
write counted against its group and ``write``.  That was most of a cached read's cost.  Here one
Lua script does both for every limit of the request, on the library's own keys and layout (a
list of timestamps per key, newest first), so ``limits``' other calls (``test``, ``clear``) and
instances running either code agree.  Other storages (memory) are called as before: they cost no
round trip.

Counted at most once: a connection that fails is sent the script again (a Redis restart drops
idle connections), but the first send may have reached Redis and run before its reply was lost
(a timeout).  Each call therefore carries a key of its own; the script records in it what it
counted, and a second run of the same call only reads the windows back.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence
from typing import Any

from limits import RateLimitItem, WindowStats
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from benben.cache.redis_direct import DirectRedis

__all__ = ["WindowCounter"]

# A call's own key outlives its retry, which follows the failed send at once (within one
# connect timeout), and is gone soon after: one short string per request, for a few seconds.
ONCE_TTL = 5
# KEYS: the call's own key, then one list per limit.  ARGV: timestamp, cost, the call's key's
# lifetime, then (limit, expiry) per list.  Per list, as the library's acquire_moving_window.lua
# then moving_window.lua would do: {acquired (0|1), oldest timestamp in the window (or the
# current one), entries in the window}.  The call's key holds what was acquired ("1" or "0" per
# list): a call run again (its reply lost) counts nothing and answers the same.
_HIT_AND_READ = """
local timestamp = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local counted = redis.call('get', KEYS[1])
local results, acquired_flags = {}, {}
for i = 2, #KEYS do
    local key = KEYS[i]
    local limit = tonumber(ARGV[2 * i])
    local expiry = tonumber(ARGV[2 * i + 1])
    local acquired = 0
    if counted then
        acquired = tonumber(string.sub(counted, i - 1, i - 1))
    elseif amount <= limit then
        local entry = redis.call('lindex', key, limit - amount)
        if not (entry and tonumber(entry) >= timestamp - expiry) then
            local entries = {}
            for j = 1, amount do
                entries[j] = timestamp
            end
            for j = 1, #entries, 5000 do
                redis.call('lpush', key, unpack(entries, j, math.min(j + 4999, #entries)))
            end
            redis.call('ltrim', key, 0, limit - 1)
            redis.call('expire', key, expiry)
            acquired = 1
        end
    end
    local target = timestamp - expiry
    local low, high, found = 0, limit - 1, nil
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
    acquired_flags[i - 1] = tostring(acquired)
    if found then
        results[i - 1] = {acquired, tostring(redis.call('lindex', key, found)), found + 1}
    else
        results[i - 1] = {acquired, tostring(timestamp), 0}
    end
end
if not counted then
    redis.call('set', KEYS[1], table.concat(acquired_flags), 'EX', tonumber(ARGV[3]))
end
return results
"""


class WindowCounter:
    """Counts ``cost`` against several moving-window limits and reads each back."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        # Exactly RedisStorage: its subclasses (cluster) may not run a script over several keys.
        self._redis = _ScriptRunner(storage) if type(storage) is RedisStorage else None

    def hit(
        self, entries: Sequence[tuple[RateLimitItem, tuple[str, ...]]], cost: int
    ) -> list[tuple[bool, WindowStats]]:
        """For each ``(item, identifiers)``: whether ``cost`` fit in the window, and the
        window's stats after counting (reset time, remaining)."""
        if self._redis is None:
            return [
                (
                    self.limiter.hit(item, *identifiers, cost=cost),
                    self.limiter.get_window_stats(item, *identifiers),
                )
                for item, identifiers in entries
            ]
        once = self.storage.prefixed_key(f"once/{secrets.token_hex(12)}")
        keys = [once] + [self.storage.prefixed_key(item.key_for(*ids)) for item, ids in entries]
        arguments: list[Any] = [time.time(), cost, ONCE_TTL]
        for item, _ in entries:
            arguments += [item.amount, item.get_expiry()]
        answers = self._redis.run(keys, arguments)
        return [
            (bool(acquired), WindowStats(float(oldest) + item.get_expiry(), item.amount - count))
            for (item, _), (acquired, oldest, count) in zip(entries, answers, strict=True)
        ]


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
