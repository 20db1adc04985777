"""Realtime: the change feed streamed to subscribers as Server-Sent Events (see realtime.md).

:mod:`.views` opens streams; :mod:`.dispatcher` reads the feed once per process and pushes each
subscriber what it may read; :mod:`.tickets` lets a browser's EventSource authenticate; the
transport (:mod:`.stream`, :mod:`.handoff`, :mod:`.hub`) sends the bytes without holding one of
waitress's threads per stream.
"""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator

from benben.realtime.dispatcher import get_dispatcher, install_dispatcher
from benben.realtime.metrics import install_realtime_metrics

__all__ = ["includeme"]


def _wake(event: Any, request: Any) -> None:
    # Events the version board does not announce (a plugin's own) still reach this process's
    # streams at once; other instances read them at their next poll or announcement.
    get_dispatcher(request.registry).wake()


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    if not settings["benben.realtime.enabled"] or not settings["benben.events.enabled"]:
        return
    install_realtime_metrics(config.registry)
    install_dispatcher(config.registry)
    config.add_tween(
        "benben.realtime.tickets.tickets_tween_factory",
        under=(
            "benben.hardening.proxies.proxies_tween_factory",
            "benben.observability.tweens.observability_tween_factory",
        ),
        over=("benben.ratelimit.tween.ratelimit_tween_factory", "pyramid_tm.tm_tween_factory"),
    )
    config.add_event_listener(_wake)
    config.include("benben.realtime.views")
