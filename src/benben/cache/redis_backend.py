"""dogpile's Redis backend, writing with ``SET ... EX`` instead of the deprecated ``SETEX``.

redis-py 6 deprecates ``setex``; dogpile.cache 1.5 still calls it, so every cache write would
emit a DeprecationWarning (an error under ``-W error``, which the resilience wrapper would then
count as an outage on every write).
"""

from __future__ import annotations

from collections.abc import Mapping

from dogpile.cache.api import KeyType
from dogpile.cache.backends.redis import RedisBackend as DogpileRedisBackend

# The name Benben registers this backend under with dogpile.cache.
BACKEND_NAME = "benben.cache.redis"


class RedisBackend(DogpileRedisBackend):
    def set_serialized(self, key: KeyType, value: bytes) -> None:
        self.writer_client.set(key, value, ex=self.redis_expiration_time or None)

    def set_serialized_multi(self, mapping: Mapping[KeyType, bytes]) -> None:
        if not mapping:
            return
        pipe = self.writer_client.pipeline()
        for key, value in mapping.items():
            pipe.set(key, value, ex=self.redis_expiration_time or None)
        pipe.execute()
