"""The dispatcher: one thread per app that reads the change feed once for all of this process's
streams and pushes to each the events it may read now.

Why one reader: a thousand subscribers polling the feed would be a thousand queries per change.
Here a change costs one feed read and one read of the collections and records it touches (see
:mod:`.readers`), then a set intersection per subscriber.

When it reads:

- at once when a change is heard of: the version board announces every committed collection
  version, in this process and, with Redis, on every instance (:meth:`VersionBoard.watch`);
  on PostgreSQL an event becomes readable only once every older transaction has ended (the
  feed's horizon, :mod:`benben.events.feed`), so a read that found nothing after an
  announcement is retried shortly (10 ms, doubling) rather than at the next poll;
- every ``benben.realtime.poll_seconds`` otherwise: changes made by processes that announce
  nothing here (another instance without a shared Redis, a ``benben`` command).

Order and resumption: the feed is read in position order and each subscription only moves
forward, so a client resuming from its last event id gets every later event exactly once.  A
new subscription behind the live position (a resume) first catches up with reads of its own,
paced by how much its stream still has queued, then joins the live reads.  A position behind
what retention deleted gets a ``resync`` event: the client must reload what it shows (with
``_since``) and the stream goes on from there.

Who may read: a subscriber's principals come from its credential, which is verified again, by
the same rules as a request, whenever who-may-do-what changes (the board's auth counter) and
every :data:`REVERIFY_SECONDS`; a refused credential ends the stream (``token-revoked``), and the
stream ends at the credential's expiry (``token-expired``) or after
``benben.realtime.max_stream_seconds`` (``max-duration``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Collection, Iterable
from typing import Any

from pyramid.registry import Registry
from pyramid.request import Request, apply_request_extensions
from sqlalchemy.orm import Session

from benben.cache import version_board
from benben.errors import ProblemError
from benben.events.event import Event, FeedGapError, FeedPosition
from benben.events.feed import latest_position, read_events
from benben.realtime.metrics import get_realtime_metrics
from benben.realtime.readers import readers_of
from benben.realtime.sse import end_frame, frame
from benben.realtime.subscription import Subscription
from benben.security.epoch import AUTH_COUNTER
from benben.security.identity import Identity, compute_identity

__all__ = [
    "DISPATCHER_KEY",
    "RESYNC_EVENT",
    "REVERIFY_SECONDS",
    "Dispatcher",
    "SubscriberLimitError",
    "get_dispatcher",
    "verify_credential",
]

log = logging.getLogger(__name__)

REVERIFY_SECONDS = 15.0
RESYNC_EVENT = "resync"
DISPATCHER_KEY = "benben.realtime.dispatcher"
_PAGE = 500  # events per feed read
_CATCH_UP_PAGES = 4  # a lagging subscription's reads per round, so that others are not held up
_FIRST_RETRY = 0.01
_ERROR_PAUSE = 1.0


class SubscriberLimitError(Exception):
    """This process holds as many streams as it may (``scope``: "process" or "user")."""

    def __init__(self, scope: str, limit: int) -> None:
        super().__init__(f"{scope} stream limit reached ({limit})")
        self.scope = scope
        self.limit = limit


def verify_credential(registry: Registry, credential: str) -> Identity:
    """Who ``credential`` (an access or API token) stands for now, by the rules every request
    follows; ProblemError (401) when it is refused (revoked, expired, deactivated user...)."""
    request = Request.blank("/api/v1/changes", headers={"Authorization": f"Bearer {credential}"})
    request.registry = registry
    apply_request_extensions(request)
    identity = compute_identity(request)
    assert identity is not None
    return identity


def event_frame(event: Event) -> bytes:
    return frame(json.dumps(event.payload(), separators=(",", ":")), id=str(event.position))


class Dispatcher:
    def __init__(self, registry: Registry) -> None:
        settings = registry.settings
        self._registry = registry
        self._poll = float(settings["benben.realtime.poll_seconds"])
        self._max_subscribers = int(settings["benben.realtime.max_subscribers"])
        self._max_per_user = int(settings["benben.realtime.max_streams_per_user"])
        self._pace = int(settings["benben.realtime.max_buffered_bytes"]) // 2
        self._metrics = get_realtime_metrics(registry)
        self._lock = threading.Lock()
        self._subscriptions: set[Subscription] = set()
        self._per_user: dict[str, int] = {}
        self._wake = threading.Event()
        self._reverify = False
        self._thread: threading.Thread | None = None
        self._position: FeedPosition | None = None

    # -- any thread ---------------------------------------------------------------------------

    def add(self, subscription: Subscription) -> None:
        """Start delivering to ``subscription``; SubscriberLimitError when this process holds
        its maximum of streams (or the user does)."""
        user = subscription.user_id
        with self._lock:
            if len(self._subscriptions) >= self._max_subscribers:
                raise SubscriberLimitError("process", self._max_subscribers)
            if user is not None and self._per_user.get(user, 0) >= self._max_per_user:
                raise SubscriberLimitError("user", self._max_per_user)
            self._subscriptions.add(subscription)
            if user is not None:
                self._per_user[user] = self._per_user.get(user, 0) + 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="benben-realtime-dispatcher", daemon=True
                )
                self._thread.start()
        self._metrics.opened()
        subscription.stream.on_close(lambda reason: self._closed(subscription, reason))
        self._wake.set()

    def notify(self, names: Collection[str]) -> None:
        """The board learned newer versions of ``names`` (or forgot everything: ``()``)."""
        if not names or AUTH_COUNTER in names:
            self._reverify = True
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def stop(self, timeout: float = 5.0) -> None:
        """End every stream (``shutdown``: clients reconnect, elsewhere if they can) and wait
        for the thread to finish: before the app's engine is disposed."""
        with self._lock:
            subscriptions = list(self._subscriptions)
            thread = self._thread
        for subscription in subscriptions:
            _end(subscription, "shutdown")
        self._wake.set()
        if thread is not None:
            thread.join(timeout)

    def _closed(self, subscription: Subscription, reason: str) -> None:
        with self._lock:
            if subscription not in self._subscriptions:
                return
            self._subscriptions.discard(subscription)
            user = subscription.user_id
            if user is not None:
                left = self._per_user.get(user, 1) - 1
                if left:
                    self._per_user[user] = left
                else:
                    self._per_user.pop(user, None)
        self._metrics.closed(reason)
        self._wake.set()  # the last one gone: the thread ends now, not at its next poll
        log.info(
            "change stream closed: %s after %.1f s, %d events",
            reason,
            time.monotonic() - subscription.opened_at,
            subscription.events_sent,
        )

    # -- the dispatcher's thread ----------------------------------------------------------------

    def _run(self) -> None:
        from benben.db import session_factory

        retry: float | None = None
        next_reverify = time.monotonic() + REVERIFY_SECONDS
        while True:
            with self._lock:
                subscriptions = list(self._subscriptions)
                if not subscriptions:
                    # Nobody listens: the thread ends (a new subscription starts another), and
                    # what it knew of the feed is dropped with it.
                    self._thread = None
                    self._position = None
                    return
            now = time.monotonic()
            reverify = self._reverify or now >= next_reverify
            self._reverify = False
            found = lagging = False
            try:
                with session_factory(self._registry)() as session:
                    if self._position is None:
                        self._position = latest_position(session)
                    self._end_expired(subscriptions, now)
                    if reverify:
                        next_reverify = now + REVERIFY_SECONDS
                        self._reverify_all(subscriptions)
                    for subscription in subscriptions:
                        if not subscription.live and not subscription.stream.closed:
                            lagging |= not self._catch_up(session, subscription)
                    found = self._deliver_live(session, subscriptions)
                    session.rollback()
            except Exception:
                log.exception("the change streams' dispatcher failed; retrying")
                time.sleep(_ERROR_PAUSE)
                continue
            woke = self._wait(retry if retry is not None else self._timeout(subscriptions, lagging))
            if woke and not found:
                retry = _FIRST_RETRY
            elif retry is not None and not found:
                retry = retry * 2 if retry * 2 < self._poll else None
            else:
                retry = None

    def _wait(self, timeout: float) -> bool:
        woke = self._wake.wait(timeout)
        self._wake.clear()
        return woke

    def _timeout(self, subscriptions: Iterable[Subscription], lagging: bool) -> float:
        if lagging:
            return 0.05  # a catch-up paced by a full stream: look again soon
        now = time.monotonic()
        nearest = min((s.deadline for s in subscriptions), default=now + self._poll)
        return max(0.0, min(self._poll, nearest - now))

    def _end_expired(self, subscriptions: Iterable[Subscription], now: float) -> None:
        for subscription in subscriptions:
            if subscription.deadline <= now:
                _end(subscription, subscription.deadline_reason)

    def _reverify_all(self, subscriptions: Iterable[Subscription]) -> None:
        by_credential: dict[str, list[Subscription]] = {}
        for subscription in subscriptions:
            if subscription.credential is not None and not subscription.stream.closed:
                by_credential.setdefault(subscription.credential, []).append(subscription)
        for credential, group in by_credential.items():
            try:
                identity = verify_credential(self._registry, credential)
            except ProblemError:
                for subscription in group:
                    _end(subscription, "token-revoked")
                continue
            for subscription in group:
                subscription.update_principals(identity.principals)

    def _catch_up(self, session: Session, subscription: Subscription) -> bool:
        """Replay what ``subscription`` missed, up to the live position; True once caught up
        (it then joins the live reads), False while it is behind."""
        live_position = self._position
        assert live_position is not None
        collections = sorted(subscription.collections) if subscription.collections else None
        for _ in range(_CATCH_UP_PAGES):
            if subscription.position >= live_position:
                subscription.live = True
                return True
            if subscription.stream.buffered > self._pace:
                return False  # let the client read what it has first
            try:
                events = read_events(
                    session, subscription.position, limit=_PAGE, collection_ids=collections
                )
            except FeedGapError as gap:
                _tell_resync(subscription, gap.resume_at)
                continue
            replay = [event for event in events if event.position <= live_position]
            self._push(session, [subscription], replay)
            if len(replay) < len(events) or len(events) < _PAGE:
                subscription.position = max(subscription.position, live_position)
                subscription.live = True
                return True
            subscription.position = replay[-1].position  # type: ignore[assignment]
        return False

    def _deliver_live(self, session: Session, subscriptions: list[Subscription]) -> bool:
        """Read what follows the live position and deliver it; whether anything was read."""
        found = False
        while True:
            position = self._position
            assert position is not None
            try:
                events = read_events(session, position, limit=_PAGE)
            except FeedGapError as gap:
                # Retention deleted events this process had not read yet (it was stopped, or
                # far behind): every live subscriber missed them and must resynchronise.
                for subscription in subscriptions:
                    if subscription.live and not subscription.stream.closed:
                        _tell_resync(subscription, gap.resume_at)
                self._position = gap.resume_at
                continue
            if not events:
                return found
            found = True
            live = [s for s in subscriptions if s.live and not s.stream.closed]
            self._push(session, live, events)
            self._position = events[-1].position
            for subscription in live:
                if subscription.position < self._position:  # type: ignore[operator]
                    subscription.position = self._position  # type: ignore[assignment]
            if len(events) < _PAGE:
                return found

    def _push(
        self, session: Session, subscriptions: list[Subscription], events: list[Event]
    ) -> None:
        """Give each subscription the events it asked for and may read now.  The work per
        event is per *kind* of subscriber, not per subscriber: what an event is matched
        against is decided once per (collections, types) asked for, whether it may be read
        once per set of principals; each subscriber then costs a comparison and a push."""
        groups: dict[tuple[Any, ...], list[Subscription]] = {}
        for subscription in subscriptions:
            groups.setdefault((subscription.collections, subscription.types), []).append(
                subscription
            )
        interested = [
            (event, [group for group in groups.values() if group[0].wants(event)])
            for event in events
        ]
        interested = [(event, targets) for event, targets in interested if targets]
        if not interested:
            return
        readers = readers_of(session, [event for event, _ in interested])
        now_ms = time.time_ns() // 1_000_000
        for event, targets in interested:
            allowed = readers[(event.collection_id, event.record_id)]  # type: ignore[index]
            position = event.position
            verdicts: dict[frozenset[str], bool] = {}
            data: bytes | None = None
            sent = 0
            for group in targets:
                for subscription in group:
                    if position <= subscription.position:  # type: ignore[operator]
                        continue
                    principals = subscription.principals
                    may = verdicts.get(principals)
                    if may is None:
                        may = verdicts[principals] = not principals.isdisjoint(allowed)
                    if not may:
                        continue
                    if data is None:
                        data = event_frame(event)
                    if subscription.stream.push(data):
                        subscription.events_sent += 1
                        sent += 1
            if sent:
                self._metrics.sent(sent, (now_ms - event.occurred_at) / 1000)


def _tell_resync(subscription: Subscription, resume_at: FeedPosition) -> None:
    data = {"reason": "retention", "resume_at": str(resume_at)}
    subscription.stream.push(frame(json.dumps(data), event=RESYNC_EVENT, id=str(resume_at)))
    if subscription.position < resume_at:
        subscription.position = resume_at


def _end(subscription: Subscription, reason: str) -> None:
    if not subscription.stream.closed:
        subscription.stream.close(reason, end_frame(reason))


def get_dispatcher(registry: Registry) -> Dispatcher:
    return registry[DISPATCHER_KEY]


def install_dispatcher(registry: Registry) -> Dispatcher:
    """The app's dispatcher, told by the version board of every change it hears of."""
    registry[DISPATCHER_KEY] = dispatcher = Dispatcher(registry)
    version_board(registry).watch(dispatcher.notify)
    return dispatcher
