"""Observability: request ids, logs with request context, the access log, health checks,
Prometheus metrics and (with the ``otel`` extra) OpenTelemetry tracing."""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.tweens import INGRESS

from benben.observability.context import install_record_factory


def includeme(config: Configurator) -> None:
    # Every log line logged during a request carries its request id, whatever the handlers.
    install_record_factory()
    config.add_tween("benben.observability.tweens.observability_tween_factory", under=INGRESS)
    config.include("benben.observability.health")
    config.include("benben.observability.metrics_view")  # GET /metrics, registry["benben.metrics"]
    config.include("benben.observability.tracing")  # imports OpenTelemetry only when enabled
