"""The version board shared through Redis: announcements are published, one thread listens.

Strict freshness across instances: a write acknowledged to a client is visible on every
instance's next request.  Redis writes an announcement to every subscriber before it
acknowledges the PUBLISH, and the writer acknowledges its client only after that: by the time
that client (or anyone it told) asks another instance, the announcement is in that process's
socket.  So before answering, a request checks whether bytes are waiting on the subscription
socket (a peek that keeps the GIL and cannot block: see :mod:`.peek`) and, only then, waits (at
most ``_SETTLE_LIMIT``) until the listener thread has taken them in.

Only the listener thread reads the subscription, through redis-py's public ``get_message`` (so
redis-py's own health check runs).  The socket is held as the socket object, and it is peeked,
read and closed under one lock: a request never peeks a descriptor that was closed and reused.

The board is trusted only while the subscription is live: until it is (start-up, Redis down, a
dropped connection) ``current()`` answers None, and on each (re)subscription it forgets
everything, because announcements may have been missed.
"""

from __future__ import annotations

import json
import logging
import selectors
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

from benben.cache.after_fork import reset_in_child
from benben.cache.peek import readable_now
from benben.cache.redis_direct import DirectRedis
from benben.cache.versions import VersionBoard
from benben.observability.outage import OutageGuard

__all__ = ["RedisVersionBoard", "subscription_socket"]

# How long a request waits at most for the listener to take in announcements already delivered.
_SETTLE_LIMIT = 0.05
# Under a stream of writes the listener takes announcements in batches (a wake-up for each cost
# CPU and GIL hand-offs), unless a request is waiting for it.
_LISTEN_BATCH_PAUSE = 0.02
# The listener wakes at least this often, which also runs redis-py's health check.
_WAKE_INTERVAL = 0.5
# Reads that gave no message while bytes remained, in a row, before a drain stops (a message
# still arriving must not keep the listener busy).
_IDLE_READS_PER_DRAIN = 3
# Seconds of silence on the subscription before redis-py's health check sends a PING; a PING
# unanswered for as long means the connection dropped silently.
_HEALTH_CHECK_INTERVAL = 15.0

log = logging.getLogger(__name__)


def subscription_socket(pubsub: Any) -> socket.socket:
    """The socket of a subscribed redis-py ``PubSub``.  redis-py keeps no public handle on it:
    this reads ``connection._sock`` (redis is bounded in pyproject.toml; a contract test checks
    the attribute on the installed release)."""
    sock = getattr(pubsub.connection, "_sock", None)
    if not isinstance(sock, socket.socket):
        raise RuntimeError(
            f"redis-py {_redis_version()} keeps no socket at PubSub.connection._sock "
            f"(found {type(sock).__name__}): Benben does not support this release"
        )
    return sock


def _redis_version() -> str:
    import redis

    return str(redis.__version__)


class RedisVersionBoard(VersionBoard):
    """A board shared through Redis pub/sub: announcements are published, a thread listens."""

    def __init__(
        self, url: str, channel: str, *, socket_timeout: float, retry_interval: float
    ) -> None:
        super().__init__(trusted=False)
        import redis
        import redis.backoff
        import redis.retry

        self._redis = redis
        # Any failure of the subscription goes to the listener, which forgets and subscribes
        # again: redis-py must not reconnect (and resubscribe) behind its back.
        self._no_retry = redis.retry.Retry(redis.backoff.NoBackoff(), 0)
        self.url = url
        self.channel = channel
        self.retry_interval = retry_interval
        self._socket_timeout = socket_timeout
        self._publisher = redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
        )
        # Announcements are sent after every write (see DirectRedis).
        self._announcer = DirectRedis(self._publisher.connection_pool)
        self._guard = OutageGuard(
            "publishing data versions to Redis",
            "other instances age out what they cached",
            log,
            retry_interval=retry_interval,
        )
        self._stopped = threading.Event()
        self._new_process_state()
        reset_in_child(self, "_after_fork_in_child")

    def _new_process_state(self) -> None:
        """What belongs to one process: the listener thread, its subscription, the locks."""
        self._listening = False
        # Started on first use: commands and apps that never read data open no subscription.
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        # The subscription's socket while it is up; peeked, read and closed under the lock.
        self._socket: socket.socket | None = None
        self._socket_lock = threading.Lock()
        # Drains of the subscription by the listener, numbered: a request that saw bytes waiting
        # waits for a drain that started after it looked.
        self._drains = threading.Condition(threading.Lock())
        self._drains_started = 0
        self._drains_finished = 0
        self._wanted = threading.Event()  # a request waits: no batch pause
        self._ping_unanswered_since: float | None = None

    def _after_fork_in_child(self) -> None:
        """The child has no listener thread, and locks held by the parent's threads stay held:
        start afresh, distrusting the board until the child's own subscription is up.  The
        inherited sockets are only dropped: closing a copy of a descriptor leaves the parent's
        connection alone (redis-py's pool and DirectRedis see to their own)."""
        self._lock = threading.Lock()
        self._new_process_state()
        self.forget(trusted=False)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._stopped.is_set():
                self._thread = threading.Thread(
                    target=self._listen, name="benben-versions", daemon=True
                )
                self._thread.start()

    def current(self, name: str) -> int | None:
        if self._thread is None:
            self._start()
        self._settle()
        return super().current(name)

    def _settle(self) -> None:
        """Wait, only when announcements are waiting on the socket, for the listener to take
        them in (see the module's docstring)."""
        if threading.current_thread() is self._thread:
            return  # the listener itself (a forget hook reading the board): it drains anyway
        # Held by the listener only while it drains (never while it waits): bounded all the same.
        if not self._socket_lock.acquire(timeout=_SETTLE_LIMIT):
            return
        try:
            sock = self._socket
            if sock is None or not readable_now(sock):
                return
            seen = self._drains_started
        finally:
            self._socket_lock.release()
        self._wanted.set()
        with self._drains:
            self._drains.wait_for(lambda: self._drains_finished > seen, _SETTLE_LIMIT)

    def announce(self, versions: Mapping[str, int]) -> None:
        if self._thread is None:
            self._start()
        self.learn(versions)
        message = json.dumps(dict(versions))
        # When this fails the other instances cannot hear of the change.  Their subscriptions
        # go through the same Redis, so they are very likely down too (and then they read the
        # database); the process cache's max age bounds whatever remains.
        self._guard.call("publish", lambda: self._publish(message))

    def _publish(self, message: str) -> None:
        try:
            self._announcer.execute("PUBLISH", self.channel, message)
        except self._redis.ConnectionError:  # dropped while idle (a restart): once more
            # Twice is harmless: versions merge with max.
            self._announcer.execute("PUBLISH", self.channel, message)

    def _counter_key(self, name: str) -> str:
        return f"{self.channel}:{name}"

    def counter(self, name: str) -> int | None:
        value = self.current(name)
        if value is not None or not self._trusted:
            return value
        generation = self.generation
        raw = self._guard.call("read", lambda: self._publisher.get(self._counter_key(name)), False)
        if raw is False:
            return None
        value = int(raw or 0)
        if self.generation == generation:
            self.learn({name: value})
        return value

    def bump_counter(self, name: str) -> None:
        # INCR, not "what this process knows + 1": instances may not know the latest value,
        # and an announcement lower than what others hold would be ignored by them.
        value = self._guard.call("bump", lambda: self._publisher.incr(self._counter_key(name)))
        if value is None:
            # Nobody can hear of it.  Here, forget everything (the counter is read from Redis
            # again when it answers); elsewhere, the cache's max age bounds what is served.
            self.forget(trusted=self._trusted)
            return
        self.announce({name: int(value)})

    @property
    def publish_errors(self) -> int:
        return self._guard.errors + self._guard.bypassed

    def _listen(self) -> None:
        while not self._stopped.is_set():
            client = self._redis.Redis.from_url(
                self.url,
                socket_timeout=None,  # waiting for messages is the point
                socket_connect_timeout=self._socket_timeout,
                socket_keepalive=True,
                health_check_interval=_HEALTH_CHECK_INTERVAL,
                retry=self._no_retry,
            )
            pubsub = client.pubsub()
            try:
                with selectors.DefaultSelector() as selector:
                    with self._socket_lock:
                        pubsub.subscribe(self.channel)
                        self._socket = subscription_socket(pubsub)
                        self._ping_unanswered_since = None
                        selector.register(self._socket, selectors.EVENT_READ)
                    while not self._stopped.is_set():
                        # Wait outside the lock (requests peek meanwhile), read inside it.
                        selector.select(_WAKE_INTERVAL)
                        if self._drain(pubsub) and not self._wanted.is_set():
                            self._wanted.wait(_LISTEN_BATCH_PAUSE)
            except Exception as exc:  # any failure: distrust, then reconnect
                if self._stopped.is_set():
                    break
                self.forget(trusted=False)
                if self._listening:
                    # A subscription that was up and dropped (a killed connection, a failover)
                    # is made again at once; while Redis stays unreachable, every retry_interval.
                    log.warning(
                        "lost the subscription to %s (%s: %s); reading from the database "
                        "until it is back",
                        self.channel, type(exc).__name__, exc,
                    )  # fmt: skip
                    self._listening = False
                    continue
                self._stopped.wait(self.retry_interval)
            finally:
                with self._socket_lock:
                    self._socket = None
                    pubsub.close()
                    client.close()
                self._finish_drain(self._drains_started)  # nobody waits for a closed socket

    def _drain(self, pubsub: Any) -> int:
        """Take in every message already received (socket and parser buffer), without waiting;
        how many."""
        with self._socket_lock:
            self._drains_started += 1
            number = self._drains_started
            self._wanted.clear()
            received = idle_reads = 0
            # None is nothing waiting, a PING's answer (more may follow: read on while bytes
            # remain), or part of a message (the selector wakes the listener for the rest).
            while idle_reads < _IDLE_READS_PER_DRAIN:
                message = pubsub.get_message(timeout=0)
                if message is None:
                    if not pubsub.connection.can_read(timeout=0):
                        break
                    idle_reads += 1
                    continue
                idle_reads = 0
                self._receive(message)
                received += 1
            self._check_pings_answered(pubsub)
        self._finish_drain(number)
        return received

    def _finish_drain(self, number: int) -> None:
        with self._drains:
            self._drains_finished = max(self._drains_finished, number)
            self._drains.notify_all()

    def _check_pings_answered(self, pubsub: Any) -> None:
        """redis-py pings a silent subscription but does not wait for the answer: give up on a
        connection whose PING stays unanswered for a whole interval (dropped silently)."""
        if pubsub.health_check_response_counter <= 0:
            self._ping_unanswered_since = None
            return
        now = time.monotonic()
        if self._ping_unanswered_since is None:
            self._ping_unanswered_since = now
        elif now - self._ping_unanswered_since > _HEALTH_CHECK_INTERVAL:
            raise ConnectionError(f"Redis did not answer a PING within {_HEALTH_CHECK_INTERVAL:g}s")

    def _receive(self, message: Mapping[str, Any]) -> None:
        if message["type"] == "subscribe":
            # Announcements made before now may have been missed: start again from nothing.
            self.forget(trusted=True)
            self._listening = True
            return
        if message["type"] != "message":
            return
        try:
            versions = json.loads(message["data"])
            self.learn({str(k): int(v) for k, v in versions.items()})
        except (ValueError, TypeError, AttributeError):
            log.warning("ignored a malformed version announcement on %s", self.channel)

    def close(self) -> None:
        self._stopped.set()
        self._wanted.set()  # out of a batch pause at once
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._announcer.close()
        self._publisher.close()
