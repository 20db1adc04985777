"""``GET /metrics``: the app's metrics in the Prometheus text format, for whom may read them.

``benben.metrics.enabled``:

- ``off``: nothing is measured and there is no ``/metrics`` route (404);
- ``open``: anyone may read it (a private port, or a proxy that filters the path);
- ``restricted`` (default): a client from ``benben.metrics.allowed_networks`` (loopback and the
  private ranges by default, where Prometheus runs beside the app), or one presenting
  ``Authorization: Bearer <benben.metrics.token>``.  The client address is ``REMOTE_ADDR`` after
  :mod:`benben.hardening.proxies`: ``X-Forwarded-For`` counts only from trusted proxies.

Refusals: a wrong token 401; no token from elsewhere 401 when a token would be accepted, else 403.

``GET /metrics`` is answered by :func:`metrics_tween_factory`, under the proxies tween and over
rate limits and ``pyramid_tm``: a scrape costs no transaction, is not rate limited, and its token
is never mistaken for an API credential (pyramid_tm asks the security policy for the user of
every request it wraps).  Scrapes are not counted in ``benben_http_*`` either (Prometheus's ``up``
and ``scrape_duration_seconds`` watch them).  The route and its view remain, for other methods and
the OpenAPI document.  The format follows ``Accept``: text 0.0.4 by default, OpenMetrics if asked.

In one process the app counts in :class:`~benben.observability.metrics.Metrics`; under several
workers (``PROMETHEUS_MULTIPROC_DIR`` set) in
:class:`~benben.observability.multiprocess_metrics.MultiProcessMetrics`, and a scrape answers
for all of them.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.exposition import choose_encoder
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request
from pyramid.response import Response

from benben.errors import problem_response
from benben.hardening.proxies import Network, parse_address
from benben.observability.metrics import METRICS_KEY, METRICS_PATH, Metrics, get_metrics
from benben.observability.metrics_directory import multiprocess_directory
from benben.observability.multiprocess_metrics import MultiProcessMetrics

Handler = Callable[[Request], Response]

__all__ = ["ACCESS_KEY", "METRICS_PATH", "MetricsAccess", "metrics_tween_factory", "metrics_view"]

ACCESS_KEY = "benben.metrics.access"
MIN_TOKEN_LENGTH = 16
REALM = 'Bearer realm="benben-metrics"'


@dataclass(frozen=True)
class MetricsAccess:
    mode: str  # open | restricted
    token: bytes
    networks: tuple[Network, ...]

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> MetricsAccess:
        token = str(settings.get("benben.metrics.token") or "")
        if token and len(token) < MIN_TOKEN_LENGTH:
            raise ConfigurationError(
                f"invalid value for setting benben.metrics.token: at least {MIN_TOKEN_LENGTH} "
                "characters (for instance `openssl rand -hex 32`)"
            )
        networks = []
        for entry in settings.get("benben.metrics.allowed_networks") or ():
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ConfigurationError(
                    f"invalid entry {entry!r} in setting benben.metrics.allowed_networks: "
                    "expected IP addresses or networks in CIDR notation, such as "
                    "'127.0.0.0/8 10.0.0.0/8 fd00::/8'"
                ) from None
        mode = settings["benben.metrics.enabled"]
        if mode == "restricted" and not networks and not token:
            raise ConfigurationError(
                "benben.metrics.enabled = restricted admits no one: set "
                "benben.metrics.allowed_networks or benben.metrics.token (or choose open or off)"
            )
        return cls(mode, token.encode(), tuple(networks))

    def token_presented(self, request: Request) -> bool:
        """Whether the request carries ``Authorization: Bearer <benben.metrics.token>``."""
        authorization = request.environ.get("HTTP_AUTHORIZATION")
        if not self.token or authorization is None:
            return False
        scheme, _, given = authorization.strip().partition(" ")
        # WSGI header values are latin-1 strings: back to the bytes the client sent.
        presented = given.strip().encode("latin-1", "replace")
        return scheme.lower() == "bearer" and hmac.compare_digest(presented, self.token)

    def refusal(self, request: Request) -> Response | None:
        """None when the caller may read the metrics, else the problem response to answer."""
        if self.mode == "open":
            return None
        authorization = request.environ.get("HTTP_AUTHORIZATION")
        if authorization is not None:
            if self.token_presented(request):
                return None
            return problem_response(
                request,
                401,
                title="Invalid credentials",
                detail="The metrics token is not correct.",
                headers={"WWW-Authenticate": REALM + ', error="invalid_token"'},
            )
        address = parse_address(request.environ.get("REMOTE_ADDR") or "")
        if address is not None and any(address in network for network in self.networks):
            return None
        if self.token:
            return problem_response(
                request,
                401,
                title="Authentication required",
                detail="Metrics are served to allowed networks or with the metrics token: "
                "'Authorization: Bearer <token>'.",
                headers={"WWW-Authenticate": REALM},
            )
        return problem_response(request, 403, detail="Metrics are served to allowed networks only.")


def metrics_view(request: Request) -> Response:
    refusal = request.registry[ACCESS_KEY].refusal(request)
    if refusal is not None:
        return refusal
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encoder(get_metrics(request.registry).exported)
    # headerlist, not content_type=: WebOb would rewrite the parameters Prometheus reads.
    return Response(
        body=body, headerlist=[("Content-Type", content_type), ("Cache-Control", "no-store")]
    )


def metrics_tween_factory(handler: Handler, registry: Any) -> Handler:
    def metrics_tween(request: Request) -> Response:
        if request.environ.get("PATH_INFO") == METRICS_PATH and request.method in ("GET", "HEAD"):
            return metrics_view(request)
        return handler(request)

    return metrics_tween


METRICS_TEXT = {
    "title": "PrometheusMetrics",
    "type": "string",
    "description": "The Prometheus text exposition format (OpenMetrics when `Accept` asks).",
}


def includeme(config: Configurator) -> None:
    from benben.openapi.operations import add_openapi_operation
    from benben.rest import Response as Documented

    settings = config.get_settings()
    if settings.get("benben.metrics.enabled", "off") == "off":
        return
    registry = config.registry
    registry[ACCESS_KEY] = MetricsAccess.from_settings(settings)
    directory = multiprocess_directory()
    registry[METRICS_KEY] = (
        Metrics(registry) if directory is None else MultiProcessMetrics(registry, directory)
    )
    config.add_tween(
        "benben.observability.metrics_view.metrics_tween_factory",
        under="benben.hardening.proxies.proxies_tween_factory",
        over=(
            "benben.ratelimit.tween.ratelimit_tween_factory",
            "benben.hardening.body_limit.body_limit_tween_factory",
            "pyramid_tm.tm_tween_factory",
        ),
    )
    config.add_route("metrics", METRICS_PATH)
    config.add_view(metrics_view, route_name="metrics", request_method="GET")
    add_openapi_operation(
        config,
        "metrics",
        "GET",
        operation_id="getMetrics",
        tags=["operations"],
        summary="Prometheus metrics",
        description="Requests, latency, database pool, cache, rate limits, logins, build and "
        "plugins (see the operations guide). Served per `benben.metrics.enabled`: to allowed "
        "networks or with `Authorization: Bearer <benben.metrics.token>` when restricted.",
        responses={
            200: Documented(
                "The metrics of this instance.",
                METRICS_TEXT,
                {"Cache-Control": "`no-store`."},
                media_type="text/plain",
            ),
            401: "The metrics token is wrong, or missing where it would be accepted.",
            403: "The client address is not in `benben.metrics.allowed_networks`.",
        },
    )
