"""Reserving a slot in several moving windows at once, and giving one back.

Login throttling must count an attempt *before* it checks the password, or parallel attempts all
pass a check that none of them has yet counted against.  ``limits``' ``hit`` is atomic per window
(a lock in memory, a Lua script in Redis) and refuses without counting when the window is full,
so a reservation hits each window in turn; when one refuses, the slots already taken are given
back and the attempt is refused.  Between the hit and the give-back a parallel attempt may see
one slot too many taken and be refused too: the error is always towards refusing, never towards
one password check more than the limit.

Giving back removes the newest entry of a window (entries are bare timestamps, interchangeable):
``limits`` has no call for it, so it is done on the storage's own layout, a list per key, newest
first, in memory and in Redis (standalone, Sentinel or cluster: one key per command).  Other
storages cannot give back and are refused at start-up.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from limits import RateLimitItem
from limits.storage import MemoryStorage, RedisStorage, Storage

from benben.ratelimit.store import LimitStore

__all__ = ["Window", "can_give_back", "give_back", "reserve"]

Window = tuple[RateLimitItem, tuple[str, ...]]  # a limit and the identifiers of its counter


def can_give_back(storage: Storage) -> bool:
    return isinstance(storage, MemoryStorage | RedisStorage)


def reserve(store: LimitStore, windows: Sequence[Window]) -> int:
    """Take one slot in every window, or none: ``0`` when taken, else the seconds until all the
    full windows have a free slot again.  ``0`` too when the storage is down (fails open)."""
    answer = store.guard.call("hit", lambda: _reserve(store, windows))
    return 0 if answer is None else answer


def give_back(store: LimitStore, windows: Sequence[Window]) -> None:
    """Return one slot to every window (one taken by :func:`reserve`)."""
    store.guard.call("clear", lambda: _give_back(store.storage, windows))


def _reserve(store: LimitStore, windows: Sequence[Window]) -> int:
    taken: list[Window] = []
    for item, identifiers in windows:
        if not store.limiter.hit(item, *identifiers):
            _give_back(store.storage, taken)
            return _wait(store, windows)
        taken.append((item, identifiers))
    return 0


def _wait(store: LimitStore, windows: Sequence[Window]) -> int:
    """The longest wait among the full windows: Retry-After must not promise a slot that a
    longer window (the progressive delay) still refuses."""
    now = time.time()
    wait = 1
    for item, identifiers in windows:
        stats = store.limiter.get_window_stats(item, *identifiers)
        if stats.remaining <= 0:
            wait = max(wait, math.ceil(stats.reset_time - now))
    return wait


def _give_back(storage: Storage, windows: Sequence[Window]) -> None:
    for item, identifiers in windows:
        key = item.key_for(*identifiers)
        if isinstance(storage, RedisStorage):
            storage.get_connection().lpop(storage.prefixed_key(key))
        elif isinstance(storage, MemoryStorage):
            with storage.locks[key]:
                events = storage.events.get(key)
                if events:
                    events.pop(0)  # newest first, as acquire_entry inserts them
