"""A subscriber: who it is (re-checked while it lasts), what it asked for, and how far it is.

A subscription's ``position`` is the feed position after which it still needs events: it only
grows, and only the dispatcher's thread moves it (see :mod:`.dispatcher`), so an event is sent
at most once, in feed order, and a reconnecting client that gives its last event id resumes
exactly there.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field

from benben.events.event import Event, FeedPosition, type_matches
from benben.realtime.stream import Stream

__all__ = ["Subscription"]


@dataclass(eq=False)
class Subscription:
    stream: Stream
    user_id: str | None
    # The credential the stream was opened with ("<token>", without "Bearer "): re-verified by
    # the same rules as a request whenever who-may-do-what changes, and periodically.
    credential: str | None
    principals: frozenset[str]
    collections: frozenset[str] | None  # None: every collection the subscriber may read
    types: tuple[str, ...]  # type patterns (type_matches): ("*",) for all
    position: FeedPosition
    # time.monotonic() at which the stream ends, and the reason then told to the client.
    deadline: float
    deadline_reason: str
    opened_at: float = field(default_factory=time.monotonic)
    events_sent: int = 0
    # Set by the dispatcher once the subscription has caught up with the live feed.
    live: bool = False

    def wants(self, event: Event) -> bool:
        """Whether the event is about what this subscriber asked for (not whether it may read
        it: that is decided when it is delivered)."""
        if event.collection_id is None:
            return False
        if self.collections is not None and event.collection_id not in self.collections:
            return False
        return any(type_matches(pattern, event.type) for pattern in self.types)

    def update_principals(self, principals: Collection[str]) -> None:
        # Only the dispatcher's thread reads and re-verifies them: no lock needed.
        self.principals = frozenset(principals)
