"""Counting a request against its moving windows and reading them back, in one round trip.

The ``limits`` library counts (``hit``) and reads a window (``get_window_stats``, for the
``RateLimit-*`` headers) in separate calls: with Redis, two round trips per limit, four for a
write counted against its group and ``write``.  That was most of a cached read's cost.  Here one
Lua script does both for every limit of the request, on the library's own keys and layout (a
list of timestamps per key, newest first), so ``limits``' other calls (``test``, ``clear``) and
instances running either code agree.  Other storages (memory) are called as before: they cost no
round trip.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

from limits import RateLimitItem, WindowStats
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from benben.cache.redis_direct import DirectRedis

__all__ = ["WindowCounter"]

# KEYS: one list per limit.  ARGV: timestamp, cost, then (limit, expiry) per key.
# Per key, as the library's acquire_moving_window.lua then moving_window.lua would do:
# {acquired (0|1), oldest timestamp in the window (or the current one), entries in the window}.
_HIT_AND_READ = """
local timestamp = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local results = {}
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[1 + 2 * i])
    local expiry = tonumber(ARGV[2 + 2 * i])
    local acquired = 0
    if amount <= limit then
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
    if found then
        results[i] = {acquired, tostring(redis.call('lindex', key, found)), found + 1}
    else
        results[i] = {acquired, tostring(timestamp), 0}
    end
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
        keys = [self.storage.prefixed_key(item.key_for(*ids)) for item, ids in entries]
        arguments: list[Any] = [time.time(), cost]
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
        command = ("EVALSHA", self._sha, len(keys), *keys, *arguments)
        try:
            return self._redis.execute(*command)
        except self._errors.NoScriptError:  # a restarted Redis forgot it: send it whole
            return self._redis.execute("EVAL", _HIT_AND_READ, len(keys), *keys, *arguments)
        except self._errors.ConnectionError:  # a connection dropped while idle: once more
            return self._redis.execute(*command)
