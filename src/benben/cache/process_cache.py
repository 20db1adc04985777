"""Values kept in this process: bounded (least recently used out first) and aged out.

What is stored here is keyed by the version it was read at (see :mod:`.versions`), so a newer
version is a miss, not a stale hit; the maximum age bounds what an instance that missed an
announcement (Redis down) can serve.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

from benben.cache.memory import BoundedDict

__all__ = ["ProcessCache"]


class ProcessCache:
    """Values in this process, bounded (least recently used out first) and aged out."""

    def __init__(self, max_items: int, max_age: float, clock: Callable[[], float] = time.monotonic):
        self._items = BoundedDict(max_items)
        self.max_age = max_age
        self._clock = clock
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        found = self.peek(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def peek(self, key: Hashable) -> Any:
        """What :meth:`get` would answer, not counted as a read (for writers)."""
        found = self._items.get(key)
        if found is None or self._clock() - found[0] > self.max_age:
            return None
        return found[1]

    def set(self, key: Hashable, value: Any) -> None:
        self._items[key] = (self._clock(), value)

    def delete(self, key: Hashable) -> None:
        self._items.pop(key)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
