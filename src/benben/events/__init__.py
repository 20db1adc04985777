"""The change feed: every committed change is an event, written in the change's transaction.

- :mod:`.event`: :class:`Event`, :class:`FeedPosition`, core's event types.
- :mod:`.feed`: ``publish`` (in the request's transaction), ``read_events`` (in order, no gaps,
  see there how), durable consumers' cursors, retention.
- :mod:`.listeners`: ``config.add_event_listener``: in-process listeners, after commit.
- :mod:`.views`: ``GET /api/v1/events``, the feed for administrators.

Plugins reach all of it through :mod:`benben.plugin` (docs/events.md).
"""

from __future__ import annotations

from pyramid.config import Configurator

from benben.events.listeners import add_event_listener

__all__ = ["includeme"]


def includeme(config: Configurator) -> None:
    config.add_directive("add_event_listener", add_event_listener)
    config.include("benben.events.views")
