"""OpenTelemetry tracing, with the ``otel`` extra: ``pip install 'benben[otel]'``.

``benben.tracing.enabled = true`` gives every request a server span (a child of the caller's
when a W3C ``traceparent`` comes in) and every SQL statement run during it a client span under
it; the trace and span ids join the request's log context, so each log line carries them; the
response says which span answered in a ``traceresponse`` header (W3C Trace Context Level 2).

Nothing of OpenTelemetry is imported unless tracing is enabled: the implementation lives in
:mod:`benben.observability.otel`, imported from :func:`includeme` only then, and enabling tracing
without the extra stops start-up with a ConfigurationError naming the install command.

Each app has its own ``TracerProvider`` (``registry["benben.tracing"].provider``); Benben does not
install it as OpenTelemetry's global provider, so that apps in one process stay apart.
"""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

__all__ = ["INSTALL_HINT", "TRACING_KEY", "includeme"]

TRACING_KEY = "benben.tracing"
INSTALL_HINT = "pip install 'benben[otel]'"


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    if not settings.get("benben.tracing.enabled"):
        return
    try:
        from benben.observability import otel
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("opentelemetry"):
            raise
        raise ConfigurationError(
            "benben.tracing.enabled = true needs OpenTelemetry, which is not installed "
            f"({exc.name} is missing): {INSTALL_HINT}"
        ) from None
    registry = config.registry
    tracing = otel.build_tracing(settings)
    registry[TRACING_KEY] = tracing
    config.add_tween(
        "benben.observability.otel.tracing_tween_factory",
        under="benben.observability.tweens.observability_tween_factory",
        over=("benben.security.proxies.proxies_tween_factory", "pyramid_tm.tm_tween_factory"),
    )

    def instrument() -> None:
        # At commit: benben.db, included after this package, has built the engines by then.
        for key in ("benben.db.engine", "benben.db.replica_engine"):
            engine = registry.get(key)
            if engine is not None:
                otel.instrument_engine(engine, tracing.tracer)

    config.action(None, instrument)
