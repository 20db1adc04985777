"""Observability: request ids, logs with request context, the access log, health checks,
Prometheus metrics and (with the ``otel`` extra) OpenTelemetry tracing."""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.tweens import INGRESS

from benben.observability.context import install_record_factory
from benben.observability.redact import REDACTOR_KEY, SETTING, QueryRedactor


def includeme(config: Configurator) -> None:
    # Every log line logged during a request carries its request id, whatever the handlers.
    install_record_factory()
    # Before the tween: its factory takes the redactor of the URLs it logs.
    config.registry[REDACTOR_KEY] = QueryRedactor(config.get_settings().get(SETTING) or ())
    config.add_tween("benben.observability.tweens.observability_tween_factory", under=INGRESS)
    config.include("benben.observability.health")
    config.include("benben.observability.metrics_view")  # GET /metrics; get_metrics(registry)
    config.include("benben.observability.tracing")  # imports OpenTelemetry only when enabled
