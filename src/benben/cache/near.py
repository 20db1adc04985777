"""Versions that every instance learns of promptly, and an in-process cache keyed by them.

A hot read cannot afford a Redis round trip (it costs about a fifth of a cached read: see
``docs/architecture.md``), so the values of hot reads live in each process, keyed by the
*version* of what they were read from (for the data API: a collection's ``last_modified``).  What
must be shared is only which version is current, and that is pushed, not polled:

- a committed write *announces* ``{name: version}``: this process learns it at once and, with the
  Redis backend, publishes it on a channel every instance subscribes to (a thread per process);
- versions only grow, so what is learned merges with ``max``: a reader that read an older version
  from the database just before a newer one was announced cannot roll the board back;
- the board is *trusted* only while that subscription is live.  Until it is (start-up, Redis
  down, a dropped connection) ``current()`` answers None and callers read the database; on each
  (re)subscription the board forgets everything, because announcements may have been missed.

With the memory backend there is one process to tell, so the board is always trusted.
"""

from __future__ import annotations

import functools
import json
import logging
import select
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from benben.cache.memory import BoundedDict
from benben.cache.peek import readable_now
from benben.cache.redis_direct import DirectRedis
from benben.cache.subscription import SocketMessages
from benben.observability.outage import OutageGuard

__all__ = ["NearCache", "RedisVersionBoard", "VersionBoard"]

# How long a request waits at most for this process to take in announcements already delivered.
_SETTLE_LIMIT = 0.05
_LISTEN_BATCH_PAUSE = 0.02
# Seconds of silence on the subscription before a PING checks that it is still alive.
_HEALTH_CHECK_INTERVAL = 15.0

log = logging.getLogger(__name__)


class VersionBoard:
    """The current version of named things, as far as this process knows."""

    def __init__(self, *, trusted: bool = True) -> None:
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()
        self._trusted = trusted
        self.generation = 0  # changes whenever what was known is forgotten
        self._forget_hooks: list[Callable[[], None]] = []

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
        with self._lock:
            for name, version in versions.items():
                if version > self._versions.get(name, -1):
                    self._versions[name] = version

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

    def announce(self, versions: Mapping[str, int]) -> None:
        """A commit changed these: learn them here (other instances: see RedisVersionBoard)."""
        self.learn(versions)

    def counter(self, name: str) -> int | None:
        """The current value of a shared counter (see :meth:`bump_after_commit`); None while
        the board is not trusted."""
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


class RedisVersionBoard(VersionBoard):
    """A board shared through Redis pub/sub: announcements are published, a thread listens."""

    def __init__(
        self, url: str, channel: str, *, socket_timeout: float, retry_interval: float
    ) -> None:
        super().__init__(trusted=False)
        import redis

        self._redis = redis
        self.url = url
        self.channel = channel
        self.retry_interval = retry_interval
        self._publisher = redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
        )
        # Announcements are sent after every write: one send and one receive each (see there).
        self._announcer = DirectRedis(self._publisher.connection_pool)
        self._socket_timeout = socket_timeout
        self._stopped = threading.Event()
        self._guard = OutageGuard(
            "publishing data versions to Redis",
            "other instances age out what they cached",
            log,
            retry_interval=retry_interval,
        )
        self._listening = False
        # Started on first use: commands and apps that never read data open no subscription.
        self._thread: threading.Thread | None = None
        self._pubsub: Any = None  # the subscription, while it is up
        self._socket: Any = None  # ...and its socket
        self._messages: SocketMessages | None = None  # ...and its reader, where it has one
        # Whoever reads the subscription (the listener, or a request settling) holds this.
        self._drain_lock = threading.Lock()
        self._start_lock = threading.Lock()

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
        """Take in what Redis has already delivered to this process before answering.

        Redis writes an announcement to every subscriber before it acknowledges the PUBLISH, and
        the writer acknowledges its client only after that: by the time that client (or anyone
        it told) asks this instance, the announcement is in this process's socket, or being read
        by the listener.  So a read first drains the subscription itself (or waits for the
        listener to finish draining it), and a write is visible everywhere from the next request.
        When nothing is pending this costs a peek at the socket that keeps the GIL (see
        :mod:`.peek`).
        """
        pubsub, sock = self._pubsub, self._socket
        if sock is None or threading.current_thread() is self._thread:
            return
        if not readable_now(sock) and not self._drain_lock.locked():
            return
        if not self._drain_lock.acquire(timeout=_SETTLE_LIMIT):
            return
        try:
            if self._pubsub is pubsub:
                self._drain(pubsub)
        except Exception:  # noqa: S110 - the listener meets the same failure and reconnects
            pass
        finally:
            self._drain_lock.release()

    def _drain(self, pubsub: Any) -> int:
        """Every message already received (socket and parser buffer), without waiting; how
        many."""
        if self._messages is not None:
            messages = self._messages.read()
            for message in messages:
                self._receive(message)
            return len(messages)
        count = 0
        while (message := pubsub.get_message(timeout=0)) is not None:
            self._receive(message)
            count += 1
        return count

    def announce(self, versions: Mapping[str, int]) -> None:
        if self._thread is None:
            self._start()
        self.learn(versions)
        message = json.dumps(dict(versions))
        # When this fails the other instances cannot hear of the change.  Their subscriptions
        # go through the same Redis, so they are very likely down too (and then they read the
        # database); the near cache's max age bounds whatever remains.
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
            )
            pubsub = client.pubsub()
            try:
                with self._drain_lock:
                    pubsub.subscribe(self.channel)
                    self._pubsub = pubsub
                    self._socket = getattr(pubsub.connection, "_sock", None)
                    self._messages = SocketMessages.over(self._socket)
                ping = functools.partial(pubsub.connection.send_command, "PING", check_health=False)
                while not self._stopped.is_set():
                    # Wait outside the lock, drain inside it (a request may be draining too);
                    # every half second regardless, which also runs the health check.
                    if self._socket is not None:
                        select.select([self._socket], [], [], 0.5)
                    else:  # a client without a reachable socket: poll
                        self._stopped.wait(0.05)
                    with self._drain_lock:
                        received = self._drain(pubsub)
                        if self._messages is not None:  # redis-py's health check cannot run
                            self._messages.keep_alive(ping, _HEALTH_CHECK_INTERVAL)
                    if received:
                        # Under a stream of writes, take them in batches: a wake-up per
                        # announcement cost CPU and GIL hand-offs.  Reads do not wait for this
                        # thread: each first drains what has arrived (see _settle).
                        self._stopped.wait(_LISTEN_BATCH_PAUSE)
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
                with self._drain_lock:
                    self._pubsub = self._socket = self._messages = None
                pubsub.close()
                client.close()

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
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._announcer.close()
        self._publisher.close()


class NearCache:
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
