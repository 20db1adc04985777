"""Realtime's Prometheus metrics, in the app's registry (what ``/metrics`` serves):

- ``benben_realtime_subscribers``: streams open now (summed over the processes);
- ``benben_realtime_streams_opened_total``;
- ``benben_realtime_streams_closed_total{reason}``: ``client-gone``, ``slow-consumer`` (dropped:
  it did not read fast enough), ``token-expired``, ``token-revoked``, ``max-duration``,
  ``shutdown``;
- ``benben_realtime_events_sent_total``: change events written to streams;
- ``benben_realtime_delivery_lag_seconds``: from the change's commit time to its event being
  queued on a stream (across instances: includes the announcement and the feed read).

Other modules count through :func:`get_realtime_metrics`; none imports prometheus_client.
"""

from __future__ import annotations

from typing import Any

from pyramid.registry import Registry

from benben.observability.metrics import get_metrics

__all__ = ["RealtimeMetrics", "get_realtime_metrics", "install_realtime_metrics"]

_KEY = "benben.realtime.metrics"
_LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RealtimeMetrics:
    def __init__(self, registry: Registry) -> None:
        # Imported here: prometheus_client must not be imported before `benben serve --workers`
        # names its multiprocess directory.
        from prometheus_client import Counter, Gauge, Histogram

        target: Any = get_metrics(registry).registry
        self._subscribers = Gauge(
            "benben_realtime_subscribers",
            "Change streams open now.",
            multiprocess_mode="livesum",
            registry=target,
        )
        self._opened = Counter(
            "benben_realtime_streams_opened", "Change streams opened.", registry=target
        )
        self._closed = Counter(
            "benben_realtime_streams_closed",
            "Change streams closed, by reason (client-gone, slow-consumer, token-expired, "
            "token-revoked, max-duration, shutdown).",
            ("reason",),
            registry=target,
        )
        self._sent = Counter(
            "benben_realtime_events_sent", "Change events written to streams.", registry=target
        )
        self._lag = Histogram(
            "benben_realtime_delivery_lag_seconds",
            "From a change's commit to its event queued on a stream.",
            buckets=_LAG_BUCKETS,
            registry=target,
        )

    def opened(self) -> None:
        self._opened.inc()
        self._subscribers.inc()

    def closed(self, reason: str) -> None:
        self._closed.labels(reason).inc()
        self._subscribers.dec()

    def sent(self, events: int, lag_seconds: float | None = None) -> None:
        if events:
            self._sent.inc(events)
        if lag_seconds is not None:
            self._lag.observe(max(lag_seconds, 0.0))


def install_realtime_metrics(registry: Registry) -> RealtimeMetrics:
    registry[_KEY] = metrics = RealtimeMetrics(registry)
    return metrics


def get_realtime_metrics(registry: Registry) -> RealtimeMetrics:
    return registry[_KEY]
