"""In-process listeners: code (core's or a plugin's) told of events after their transaction
commits, in this process only.  A rolled-back transaction tells nobody.

``config.add_event_listener(callback, "record.*", "user.created")`` registers
``callback(event, request)``; called once per matching event, in the order the transaction
published them, after the commit (``request`` is the one that made the change; its transaction
is over).  A listener that raises is logged and the next one still runs: the change is
committed either way.  For work that must not be lost (a listener runs at most once, and not at
all if the process dies right after the commit), read the durable feed instead
(:func:`benben.events.feed.read_events`, with a consumer's cursor).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from benben.events.event import Event, check_event_type, type_matches

__all__ = ["EventListener", "add_event_listener", "has_listeners", "tell_after_commit"]

log = logging.getLogger(__name__)

EventListener = Callable[[Event, Request], None]

_LISTENERS_KEY = "benben.events.listeners"
_PENDING_KEY = "benben.events.pending"  # on the session's info: this transaction's events
_SERIAL = itertools.count()


def add_event_listener(config: Configurator, callback: EventListener, *types: str) -> None:
    """The ``config.add_event_listener`` directive (no types: every event)."""
    patterns = tuple(types) or ("*",)
    for pattern in patterns:
        if pattern != "*":
            check_event_type(pattern[:-2] + ".x" if pattern.endswith(".*") else pattern)
    if not callable(callback):
        raise TypeError(f"add_event_listener: {callback!r} is not callable")

    def register() -> None:
        config.registry.setdefault(_LISTENERS_KEY, []).append((patterns, callback))

    # The action has no discriminator (listeners never conflict); its introspectable needs a
    # unique one all the same.
    intr = config.introspectable(
        "benben event listeners",
        (id(callback), patterns, next(_SERIAL)),
        ", ".join(patterns),
        "listener",
    )
    intr.update(event_types=list(patterns), callable=callback)
    config.action(None, register, order=1, introspectables=(intr,))


def _listeners(registry: Any) -> list[tuple[tuple[str, ...], EventListener]]:
    return registry.get(_LISTENERS_KEY) or []


def has_listeners(registry: Any) -> bool:
    return bool(registry.get(_LISTENERS_KEY))


def tell_after_commit(request: Request, session: Any, event: Event) -> None:
    """Queue ``event`` for the listeners once ``session``'s transaction commits (one hook per
    transaction).  Nothing is kept when nobody listens."""
    if not has_listeners(request.registry):
        return
    pending: list[Event] | None = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = []

        def tell(committed: bool) -> None:
            events = session.info.pop(_PENDING_KEY, None) or []
            if committed:
                _tell(request, events)

        request.tm.get().addAfterCommitHook(tell)
    pending.append(event)


def _tell(request: Request, events: Iterable[Event]) -> None:
    listeners = _listeners(request.registry)
    for event in events:
        for patterns, callback in listeners:
            if not any(type_matches(pattern, event.type) for pattern in patterns):
                continue
            try:
                callback(event, request)
            except Exception:
                log.exception("event listener %r failed on %s", callback, event.type)
