"""The version board: the current version of named things, as far as this process knows.

A hot read cannot afford a Redis round trip, so the values of hot reads live in each process
(see :mod:`.process_cache`), keyed by the *version* of what they were read from (for the data
API: a collection's ``last_modified``).  What must be shared is only which version is current,
and that is pushed, not polled:

- a committed write *announces* ``{name: version}``: this process learns it at once and, with the
  Redis backend, every instance hears of it (see :mod:`.redis_versions`);
- versions only grow, so what is learned merges with ``max``: a reader that read an older version
  from the database just before a newer one was announced cannot roll the board back;
- a board may be *distrusted* (a Redis board whose subscription is down): ``current()`` then
  answers None and callers read the database; when trust is regained the board forgets
  everything, because announcements may have been missed.

With the memory backend there is one process to tell, so the board is always trusted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping

__all__ = ["VersionBoard"]


class VersionBoard:
    """The current version of named things, as far as this process knows."""

    def __init__(self, *, trusted: bool = True) -> None:
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()
        self._trusted = trusted
        self.generation = 0  # changes whenever what was known is forgotten
        self._forget_hooks: list[Callable[[], None]] = []
        self._watchers: list[Callable[[Collection[str]], None]] = []

    @property
    def trusted(self) -> bool:
        return self._trusted

    def current(self, name: str) -> int | None:
        """The latest version known of ``name``; None when unknown or not to be trusted."""
        if not self._trusted:
            return None
        return self._versions.get(name)

    def learn(self, versions: Mapping[str, int]) -> None:
        """Merge versions read or announced (never lowering one)."""
        raised: list[str] = []
        with self._lock:
            for name, version in versions.items():
                if version > self._versions.get(name, -1):
                    self._versions[name] = version
                    raised.append(name)
        if raised and self._watchers:
            for watcher in self._watchers:
                watcher(raised)

    def watch(self, callback: Callable[[Collection[str]], None]) -> None:
        """Call ``callback(names)`` whenever learning raises the versions of ``names``, and
        ``callback(())`` when everything is forgotten (announcements may have been missed):
        for code that must act on a change as soon as it is heard of (realtime streams), not
        only when it next looks.  Called from whichever thread learned (a request's, Redis's
        listener): it must be quick and must not raise."""
        self._watchers.append(callback)

    def on_forget(self, hook: Callable[[], None]) -> None:
        self._forget_hooks.append(hook)

    def forget(self, *, trusted: bool) -> None:
        """Drop every version (and whatever was cached under them); trust the board or not."""
        with self._lock:
            self._versions.clear()
            self.generation += 1
            self._trusted = trusted
        for hook in self._forget_hooks:
            hook()
        for watcher in self._watchers:
            watcher(())

    def announce(self, versions: Mapping[str, int]) -> None:
        """A commit changed these: learn them here (other instances: see RedisVersionBoard)."""
        self.learn(versions)

    def counter(self, name: str) -> int | None:
        """The current value of a shared counter (see :meth:`bump_counter`); None while the
        board is not trusted."""
        value = self.current(name)
        if value is None and self._trusted:
            self.learn({name: 0})
            value = self.current(name)
        return value

    def bump_counter(self, name: str) -> None:
        """Advance a counter now and announce it: for changes that have no version of their
        own (a revoked session, a user's changed roles) but must outdate what was cached."""
        with self._lock:
            value = self._versions.get(name, 0) + 1
        self.announce({name: value})

    def close(self) -> None:
        """Stop background work (nothing here)."""
