"""Redis commands on the hot path (the rate limiter's script, version announcements), sent
through redis-py's public client and never retried behind the caller's back.

Callers know which of their commands are safe to send twice (an announcement is: versions merge
with ``max``; a rate-limit hit may not be, see :mod:`benben.ratelimit.window`), while redis-py
re-sends any command after a timeout by default.  A client over the caller's own pool would take
that pool's retry policy, so this object keeps a pool of its own, made like the caller's (its
connection class and arguments: URL, credentials, TLS, database, timeouts), with retries off.
redis-py's pool sees to a forked process itself: a child makes connections of its own.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DirectRedis"]


class DirectRedis:
    """Sends commands on connections made like those of ``pool`` (a redis-py
    ``ConnectionPool``).  A command is never retried here: a connection that fails is dropped
    and the error raised; one that answers an error (``ResponseError``) is kept."""

    def __init__(self, pool: Any) -> None:
        import redis  # the redis extra: present whenever a redis pool exists
        import redis.backoff
        import redis.retry

        arguments = dict(pool.connection_kwargs)
        arguments["retry"] = redis.retry.Retry(redis.backoff.NoBackoff(), 0)
        self._pool = redis.ConnectionPool(connection_class=pool.connection_class, **arguments)
        self._client = redis.Redis(connection_pool=self._pool)

    def execute(self, *command: Any) -> Any:
        return self._client.execute_command(*command)

    def close(self) -> None:
        self._pool.disconnect()
