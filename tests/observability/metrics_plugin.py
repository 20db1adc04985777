"""A test plugin (``gauges``) that counts with its own metric on the app's metrics registry
(imported by the entry point ``metrics_plugin``)."""

from __future__ import annotations

from prometheus_client import Counter
from pyramid.config import Configurator
from pyramid.request import Request

from benben.observability.metrics import get_metrics
from benben.plugin import PluginMetadata

benben_plugin = PluginMetadata(api=1, name="gauges", description="Counts ticks.")


def includeme(config: Configurator) -> None:
    # registry=None when metrics are off: the counter then counts for no one.
    ticks = Counter("gauges_ticks", "Ticks.", registry=get_metrics(config.registry).registry)

    def tick(request: Request) -> dict[str, bool]:
        ticks.inc()
        return {"ticked": True}

    config.add_route("gauges.tick", "/tick/{n}")
    config.add_view(tick, route_name="gauges.tick", renderer="json")
