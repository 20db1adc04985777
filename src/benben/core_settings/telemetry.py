"""Metrics and tracing: who may read /metrics, where spans go.

Part of :data:`benben.core_settings.CORE_SETTINGS`; the order here is the order of
``benben config`` and of the configuration reference.
"""

from __future__ import annotations

from benben.settings import Setting, as_bool, as_choice, as_float, as_list, as_str

__all__ = ["TELEMETRY_SETTINGS"]

TELEMETRY_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "benben.metrics.enabled",
        as_choice("off", "open", "restricted"),
        "restricted",
        "GET /metrics (Prometheus). off: nothing measured, 404; open: anyone; restricted: "
        "clients from benben.metrics.allowed_networks or with the bearer benben.metrics.token.",
    ),
    Setting(
        "benben.metrics.token",
        as_str,
        "",
        "Bearer token (>= 16 characters) that admits a scraper from any address when metrics "
        "are restricted. Empty: networks only.",
        secret=True,
    ),
    Setting(
        "benben.metrics.allowed_networks",
        as_list,
        ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
        "Client networks (CIDR) that may read restricted metrics; the client address is the one "
        "benben.security.trusted_proxies vouch for.",
    ),
    Setting(
        "benben.tracing.enabled",
        as_bool,
        False,
        "OpenTelemetry spans for requests and SQL; needs pip install 'benben[otel]'.",
    ),
    Setting(
        "benben.tracing.exporter",
        as_choice("otlp", "console", "none"),
        "otlp",
        "Where spans go: otlp (HTTP/protobuf to benben.tracing.otlp_endpoint), console "
        "(stdout), none (trace ids in logs and responses only).",
    ),
    Setting(
        "benben.tracing.otlp_endpoint",
        as_str,
        "",
        "OTLP/HTTP traces URL. Empty: OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, else "
        "http://localhost:4318/v1/traces.",
    ),
    Setting("benben.tracing.service_name", as_str, "benben", "service.name of the spans."),
    Setting(
        "benben.tracing.sample_ratio",
        as_float(0, 1),
        1.0,
        "Share of new traces recorded; a request whose traceparent says sampled or not is "
        "followed as its caller decided.",
    ),
)
