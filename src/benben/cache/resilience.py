"""A dogpile proxy backend that keeps requests alive while the cache is down.

A failing backend (Redis unreachable, timing out) is bypassed for ``retry_interval`` seconds:
reads miss, writes are dropped. Deletes that could not be made are remembered and replayed when the
backend answers again, so an outage cannot leave a stale value behind. Failures are counted always
and logged at most once per ``log_interval``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dogpile.cache.api import NO_VALUE, CacheReturnType, KeyType, SerializedReturnType
from dogpile.cache.proxy import ProxyBackend

from benben.observability.outage import OutageGuard

log = logging.getLogger(__name__)

# Pending deletes kept during an outage; past this we cannot track them one by one.
MAX_PENDING_DELETES = 10_000


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    errors: int = 0
    bypassed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

    def as_dict(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "errors": self.errors,
                "bypassed": self.bypassed}  # fmt: skip


class ResilientBackend(ProxyBackend):
    def __init__(
        self,
        stats: CacheStats,
        retry_interval: float = 5.0,
        log_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.stats = stats
        self.guard = OutageGuard(
            "cache backend",
            "serving from the database",
            log,
            retry_interval=retry_interval,
            log_interval=log_interval,
            clock=clock,
            on_error=lambda: stats.add(errors=1),
            on_bypass=lambda: stats.add(bypassed=1),
        )
        self._pending_deletes: set[KeyType] = set()
        self._overflowed = False
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self.guard.available

    def _recovered(self) -> None:
        """First successful call after an outage: replay the deletes that were missed."""
        with self._lock:
            keys, self._pending_deletes = list(self._pending_deletes), set()
            overflowed, self._overflowed = self._overflowed, False
        if overflowed:
            log.warning(
                "more than %d invalidations were missed during a cache outage; "
                "values may be stale until they expire",
                MAX_PENDING_DELETES,
            )
        if keys:
            try:
                self.proxied.delete_multi(keys)
            except Exception:
                self._remember_deletes(keys)
                raise

    def _call(self, operation: str, fn: Callable[[], Any], fallback: Any) -> Any:
        def replay_then_call() -> Any:
            if self._pending_deletes or self._overflowed:
                self._recovered()
            return fn()

        return self.guard.call(operation, replay_then_call, fallback)

    def _remember_deletes(self, keys: Sequence[KeyType]) -> None:
        with self._lock:
            if len(self._pending_deletes) + len(keys) > MAX_PENDING_DELETES:
                self._overflowed = True
            else:
                self._pending_deletes.update(keys)

    # -- dogpile backend API ---------------------------------------------------------------
    def get(self, key: KeyType) -> CacheReturnType:
        return self._counted(self._call("get", lambda: self.proxied.get(key), NO_VALUE))

    def get_serialized(self, key: KeyType) -> SerializedReturnType:
        return self._counted(self._call("get", lambda: self.proxied.get_serialized(key), NO_VALUE))

    def get_multi(self, keys: Sequence[KeyType]) -> Sequence[CacheReturnType]:
        values = self._call("get_multi", lambda: self.proxied.get_multi(keys), None)
        values = [NO_VALUE] * len(keys) if values is None else values
        for value in values:
            self._counted(value)
        return values

    def get_serialized_multi(self, keys: Sequence[KeyType]) -> Sequence[SerializedReturnType]:
        values = self._call("get_multi", lambda: self.proxied.get_serialized_multi(keys), None)
        values = [NO_VALUE] * len(keys) if values is None else values
        for value in values:
            self._counted(value)
        return values

    def set(self, key: KeyType, value: Any) -> None:
        self._call("set", lambda: self.proxied.set(key, value), None)

    def set_serialized(self, key: KeyType, value: bytes) -> None:
        self._call("set", lambda: self.proxied.set_serialized(key, value), None)

    def set_multi(self, mapping: Mapping[KeyType, Any]) -> None:
        self._call("set_multi", lambda: self.proxied.set_multi(mapping), None)

    def set_serialized_multi(self, mapping: Mapping[KeyType, bytes]) -> None:
        self._call("set_multi", lambda: self.proxied.set_serialized_multi(mapping), None)

    def delete(self, key: KeyType) -> None:
        self.delete_multi([key])

    def delete_multi(self, keys: Sequence[KeyType]) -> None:
        done = self._call("delete", lambda: self.proxied.delete_multi(keys) or True, False)
        if not done:
            self._remember_deletes(keys)

    def _counted(self, value: Any) -> Any:
        if value is NO_VALUE:
            self.stats.add(misses=1)
        else:
            self.stats.add(hits=1)
        return value
