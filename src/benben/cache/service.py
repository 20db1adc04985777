"""The cache service: a dogpile region behind a small interface, found from the request."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import transaction
from dogpile.cache import CacheRegion
from dogpile.cache.api import NO_VALUE
from zope.interface import Interface, implementer

from benben.cache.resilience import CacheStats

T = TypeVar("T")

__all__ = ["NO_VALUE", "CacheService", "ICacheService"]


class ICacheService(Interface):
    """What code needs of a cache; ``request.find_service(ICacheService)`` or ``request.cache``."""

    def get(key):  # type: ignore[no-untyped-def]
        """The cached value, or ``NO_VALUE``."""

    def get_multi(keys, expiration_time=None):  # type: ignore[no-untyped-def]
        """The cached values of ``keys``, in order, ``NO_VALUE`` for each one missing or older
        than ``expiration_time`` seconds (default: the cache's): one round trip to Redis."""

    def set(key, value):  # type: ignore[no-untyped-def]
        """Store a value (best effort: an unavailable cache drops it)."""

    def get_or_create(key, creator, expiration_time=None):  # type: ignore[no-untyped-def]
        """The cached value, computing and storing it with ``creator()`` on a miss."""

    def delete(*keys):  # type: ignore[no-untyped-def]
        """Remove keys now."""

    def invalidate_after_commit(*keys):  # type: ignore[no-untyped-def]
        """Remove keys once the current transaction commits (and only if it does)."""


@implementer(ICacheService)
class CacheService:
    def __init__(
        self,
        region: CacheRegion,
        stats: CacheStats,
        transaction_manager: transaction.TransactionManager | None = None,
    ) -> None:
        self.region = region
        self.stats = stats
        self.transaction_manager = transaction_manager

    def get(self, key: str) -> Any:
        return self.region.get(key, ignore_expiration=False)

    def get_multi(self, keys: Sequence[str], expiration_time: int | None = None) -> list[Any]:
        if not keys:
            return []
        return list(self.region.get_multi(list(keys), expiration_time=expiration_time))

    def set(self, key: str, value: Any) -> None:
        self.region.set(key, value)

    def get_or_create(
        self, key: str, creator: Callable[[], T], expiration_time: int | None = None
    ) -> T:
        return self.region.get_or_create(key, creator, expiration_time=expiration_time)

    def delete(self, *keys: str) -> None:
        if keys:
            self.region.delete_multi(list(keys))

    def invalidate_after_commit(self, *keys: str) -> None:
        if not keys:
            return
        if self.transaction_manager is None:
            raise RuntimeError("invalidate_after_commit needs a transaction manager")
        keys_to_delete = list(keys)

        def hook(committed: bool) -> None:
            if committed:
                self.delete(*keys_to_delete)

        self.transaction_manager.get().addAfterCommitHook(hook)

    def bound_to(self, transaction_manager: transaction.TransactionManager) -> CacheService:
        """The same region and stats, with invalidation tied to another transaction."""
        return CacheService(self.region, self.stats, transaction_manager)
