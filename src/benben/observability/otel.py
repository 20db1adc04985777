"""Tracing with OpenTelemetry: imported by :mod:`benben.observability.tracing` only when enabled
(this module needs the ``otel`` extra).

- :func:`install_tracing`: the app's :class:`Tracing` on its registry (:func:`get_tracing`), the
  tween, and the engines instrumented once ``benben.db`` has built them.

- :func:`tracing_tween_factory`: a ``SERVER`` span per request, under the observability tween
  (whose log context it completes with ``trace_id``/``span_id``) and over everything else.  The
  caller's ``traceparent``/``tracestate`` are extracted, so the span is a child of the caller's;
  ``traceresponse`` tells the caller which span answered.  Named ``METHOD route-pattern``.
  Scrapes of ``/metrics`` are not traced.
- :func:`instrument_engine`: a ``CLIENT`` span per SQL statement run inside a traced request
  (engine events; statements without their parameters).  Statements outside any request
  (migrations at start-up) make no span.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.httpexceptions import HTTPException
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from sqlalchemy import Engine, event

from benben.db import get_engine, get_replica_engine
from benben.observability.context import request_context
from benben.observability.metrics import KNOWN_METHODS, METRICS_PATH, matched_route, route_label
from benben.version import __version__

__all__ = [
    "Tracing",
    "build_tracing",
    "get_tracing",
    "install_tracing",
    "instrument_engine",
    "tracing_tween_factory",
]

TRACING_KEY = "benben.tracing"

RESPONSE_HEADER = "traceresponse"
MAX_STATEMENT = 4096  # characters of SQL kept on a span
_SPAN_ATTRIBUTE = "_benben_span"  # where a statement's span waits on its execution context

Handler = Callable[[Request], Response]


class _EnvironGetter(Getter[Mapping[str, Any]]):
    """Reads ``traceparent``/``tracestate`` straight from the WSGI environ."""

    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        value = carrier.get("HTTP_" + key.upper().replace("-", "_"))
        return None if value is None else [value]

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return [k[5:].lower().replace("_", "-") for k in carrier if k.startswith("HTTP_")]


ENVIRON_GETTER = _EnvironGetter()


class Tracing:
    """The app's tracer provider, its tracer and the W3C propagator."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("benben", __version__)
        self.propagator = TraceContextTextMapPropagator()


def get_tracing(registry: Registry) -> Tracing | None:
    """The app's tracing, or None when ``benben.tracing.enabled`` is off."""
    return registry.get(TRACING_KEY)


def install_tracing(config: Configurator, install_hint: str) -> None:
    """Tracing for this app: the provider, the request tween, SQL spans on its engines."""
    registry = config.registry
    tracing = build_tracing(config.get_settings(), install_hint)
    registry[TRACING_KEY] = tracing
    config.add_tween(
        "benben.observability.otel.tracing_tween_factory",
        under="benben.observability.tweens.observability_tween_factory",
        over=("benben.hardening.proxies.proxies_tween_factory", "pyramid_tm.tm_tween_factory"),
    )

    def instrument() -> None:
        # At commit: benben.db, included after benben.observability, has built the engines by then.
        for engine in (get_engine(registry), get_replica_engine(registry)):
            if engine is not None:
                instrument_engine(engine, tracing.tracer)

    config.action(None, instrument)


def build_tracing(settings: Mapping[str, Any], install_hint: str) -> Tracing:
    resource = Resource.create(
        {"service.name": settings["benben.tracing.service_name"], "service.version": __version__}
    )
    sampler = ParentBased(TraceIdRatioBased(float(settings["benben.tracing.sample_ratio"])))
    provider = TracerProvider(resource=resource, sampler=sampler)
    exporter = settings["benben.tracing.exporter"]
    if exporter == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ModuleNotFoundError:
            raise ConfigurationError(
                "benben.tracing.exporter = otlp needs the OTLP exporter, which is not installed: "
                f"{install_hint} (or choose console or none)"
            ) from None
        endpoint = settings["benben.tracing.otlp_endpoint"] or None
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    elif exporter == "console":
        # The stdout of now: the exporter's default is the one of when it was imported.
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stdout)))
    return Tracing(provider)


def tracing_tween_factory(handler: Handler, registry: Registry) -> Handler:
    tracing: Tracing = registry[TRACING_KEY]  # install_tracing put it there
    tracer, propagator = tracing.tracer, tracing.propagator

    def tracing_tween(request: Request) -> Response:
        environ = request.environ
        if environ.get("PATH_INFO") == METRICS_PATH:  # a scrape every few seconds is no trace
            return handler(request)
        method = request.method if request.method in KNOWN_METHODS else "_OTHER"
        parent = propagator.extract(environ, getter=ENVIRON_GETTER)
        span = tracer.start_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.path": environ.get("PATH_INFO", ""),
                "url.scheme": environ.get("wsgi.url_scheme", "http"),
                "user_agent.original": environ.get("HTTP_USER_AGENT", ""),
            },
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        ids = span.get_span_context()
        log_context = request_context.get()
        if ids.is_valid and log_context is not None:
            log_context["trace_id"] = format(ids.trace_id, "032x")
            log_context["span_id"] = format(ids.span_id, "016x")
        status = 500
        try:
            response = handler(request)
            status = response.status_code
            if ids.is_valid:
                response.headers[RESPONSE_HEADER] = (
                    f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{int(ids.trace_flags):02x}"
                )
            return response
        except HTTPException as exc:  # turned into a response by the observability tween
            status = exc.code or 500
            raise
        except Exception as exc:
            span.record_exception(exc)
            raise
        finally:
            _finish(span, request, method, status)
            otel_context.detach(token)

    return tracing_tween


def _finish(span: Span, request: Request, method: str, status: int) -> None:
    route = matched_route(request)
    if route is not None:
        label = route_label(route.pattern)
        span.update_name(f"{method} {label}")
        span.set_attribute("http.route", label)
    span.set_attribute("http.response.status_code", status)
    client = request.environ.get("REMOTE_ADDR")  # after benben.hardening.proxies
    if client:
        span.set_attribute("client.address", client)
    if status >= 500:  # a 4xx is the client's error, not the server span's
        span.set_status(Status(StatusCode.ERROR))
    span.end()


def instrument_engine(engine: Engine, tracer: Tracer) -> None:
    url = engine.url
    system = engine.dialect.name
    namespace = url.database or ""
    if system == "sqlite":
        namespace = namespace.rsplit("/", 1)[-1]
    base: dict[str, Any] = {"db.system.name": system, "db.namespace": namespace}
    if url.host:
        base["server.address"] = url.host
        base["server.port"] = url.port or 5432

    @event.listens_for(engine, "before_cursor_execute")
    def _start(
        _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if context is None or not trace.get_current_span().get_span_context().is_valid:
            return
        words = statement.split(None, 1)
        operation = words[0].upper() if words else "SQL"
        span = tracer.start_span(
            f"{operation} {namespace}".strip(),
            kind=SpanKind.CLIENT,
            attributes={
                **base,
                "db.operation.name": operation,
                "db.query.text": statement[:MAX_STATEMENT],
            },
        )
        setattr(context, _SPAN_ATTRIBUTE, span)

    @event.listens_for(engine, "after_cursor_execute")
    def _end(
        _conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        span = getattr(context, _SPAN_ATTRIBUTE, None)
        if span is not None:
            setattr(context, _SPAN_ATTRIBUTE, None)
            span.end()

    @event.listens_for(engine, "handle_error")
    def _failed(exception_context: Any) -> None:
        span = getattr(exception_context.execution_context, _SPAN_ATTRIBUTE, None)
        if span is not None:
            setattr(exception_context.execution_context, _SPAN_ATTRIBUTE, None)
            error = exception_context.original_exception
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()
