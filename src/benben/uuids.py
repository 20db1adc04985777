"""Random (version 4) UUIDs for ids clients may not guess, drawn from the OS a batch at a time.

``uuid.uuid4()`` reads 16 bytes from ``os.urandom`` per id, and that system call releases the
GIL: under concurrent requests, each hand-off to another of waitress's threads costs more than
the id.  Here one ``os.urandom`` call yields 256 ids.  The bytes are the OS's cryptographic
randomness either way (unlike the ``random`` module's, whose future output can be predicted from
its past), so a client still cannot guess the next id and claim it first with a PUT.
"""

from __future__ import annotations

import os
import uuid
from collections import deque

__all__ = ["RandomUUIDs", "random_uuid"]

_BATCH = 256


class RandomUUIDs:
    """A source of version-4 UUID strings.  Thread-safe: ``deque.popleft`` and ``extend`` are
    atomic, and two threads refilling at once only draw a batch more."""

    def __init__(self, batch: int = _BATCH) -> None:
        self._batch = batch
        self._ready: deque[str] = deque()
        # A child process must not hand out the ids its parent has already drawn.
        os.register_at_fork(after_in_child=self._ready.clear)

    def __call__(self) -> str:
        while True:
            try:
                return self._ready.popleft()
            except IndexError:
                self._refill()

    def _refill(self) -> None:
        pool = os.urandom(16 * self._batch)
        self._ready.extend(
            str(uuid.UUID(bytes=pool[start : start + 16], version=4))
            for start in range(0, len(pool), 16)
        )


# One per process, as the OS's generator is: it holds no state a test or plugin could observe.
random_uuid = RandomUUIDs()
