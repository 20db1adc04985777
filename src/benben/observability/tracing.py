"""OpenTelemetry tracing, with the ``otel`` extra: ``pip install 'benben[otel]'``.

``benben.tracing.enabled = true`` gives every request a server span (a child of the caller's
when a W3C ``traceparent`` comes in) and every SQL statement run during it a client span under
it; the trace and span ids join the request's log context, so each log line carries them; the
response says which span answered in a ``traceresponse`` header (W3C Trace Context Level 2).

Nothing of OpenTelemetry is imported unless tracing is enabled: the implementation lives in
:mod:`benben.observability.otel`, imported from :func:`includeme` only then (and never importing
this module back), and enabling tracing without the extra stops start-up with a
ConfigurationError naming the install command.

Each app has its own ``TracerProvider`` (``otel.get_tracing(registry).provider``); Benben does not
install it as OpenTelemetry's global provider, so that apps in one process stay apart.
"""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

__all__ = ["INSTALL_HINT", "includeme"]

INSTALL_HINT = "pip install 'benben[otel]'"


def includeme(config: Configurator) -> None:
    if not config.get_settings().get("benben.tracing.enabled"):
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
    otel.install_tracing(config, install_hint=INSTALL_HINT)
