"""CORS: browsers on the origins of ``benben.cors.origins`` may call the API.

Origins match exactly (``https://app.example.org``; scheme, host and port).  ``*`` admits any
origin but only without credentials (``benben.cors.allow_credentials = false``): with credentials
it would hand every web page the user's session, so that combination is a configuration error.

The tween sits over the observability tween: it sees every response, errors included — a browser
hides a 401, 429 or 500 from the page unless it carries CORS headers too.

- Preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``): an allowed origin
  gets 204 with the allowed methods, the requested headers that are in :data:`ALLOWED_HEADERS`,
  ``Access-Control-Max-Age`` and, when configured, ``-Allow-Credentials``; any other origin gets a
  403 problem without a single CORS header.
- Other requests from an allowed origin get ``Access-Control-Allow-Origin`` and
  ``Access-Control-Expose-Headers`` (:data:`EXPOSED_HEADERS`); from another origin, none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import INGRESS

from benben.errors import problem_response
from benben.observability.tweens import REQUEST_ID_HEADER, request_id_from

__all__ = ["ALLOWED_HEADERS", "EXPOSED_HEADERS", "CorsPolicy", "cors_tween_factory"]

POLICY_KEY = "benben.cors.policy"
ALLOWED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# Request headers a page may send (lowercase; the CORS-safelisted ones are always allowed).
ALLOWED_HEADERS = frozenset({
    "accept", "accept-language", "authorization", "content-language", "content-type",
    "if-match", "if-modified-since", "if-none-match", "if-unmodified-since", "x-request-id",
    # A change stream resumed by a page on another origin (fetch sets it; EventSource too).
    "last-event-id",
})  # fmt: skip
EXPOSED_HEADERS = ("ETag", "Location", "X-Request-ID", "RateLimit-Limit", "RateLimit-Remaining",
                   "RateLimit-Reset", "Retry-After",
                   "Deprecation", "Sunset", "Link")  # fmt: skip

Handler = Callable[[Request], Response]


def _origin(entry: str) -> str:
    if entry == "*":
        return entry
    parts = urlsplit(entry)
    valid = (
        parts.scheme in ("http", "https")
        and parts.hostname
        and not parts.username
        and parts.path == ""
        and not parts.query
        and not parts.fragment
    )
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        valid = False
    if not valid:
        raise ConfigurationError(
            f"invalid entry {entry!r} in setting benben.cors.origins: expected exact origins "
            "such as 'https://app.example.org http://localhost:3000' (scheme://host[:port], "
            "no path), or '*' (only with benben.cors.allow_credentials = false)"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


@dataclass(frozen=True)
class CorsPolicy:
    origins: frozenset[str]
    any_origin: bool
    allow_credentials: bool
    max_age: int

    @classmethod
    def from_settings(
        cls, origins: Iterable[str], allow_credentials: bool, max_age: int
    ) -> CorsPolicy:
        parsed = {_origin(entry.strip()) for entry in origins if entry.strip()}
        any_origin = "*" in parsed
        if any_origin and allow_credentials:
            raise ConfigurationError(
                "benben.cors.origins = '*' is refused while benben.cors.allow_credentials is "
                "true: it would let every web site act with the user's credentials; list the "
                "origins exactly, or set benben.cors.allow_credentials = false"
            )
        return cls(frozenset(parsed - {"*"}), any_origin, allow_credentials, max_age)

    @property
    def enabled(self) -> bool:
        return self.any_origin or bool(self.origins)

    def allows(self, origin: str) -> bool:
        return self.any_origin or origin.lower() in self.origins

    def allow_origin_headers(self, origin: str) -> dict[str, str]:
        headers = {"Access-Control-Allow-Origin": "*" if self.any_origin else origin}
        if self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers

    def preflight(self, request: Request, origin: str) -> Response:
        if not self.allows(origin):
            return problem_response(
                request,
                403,
                title="Origin not allowed",
                detail=f"Cross-origin requests from {origin} are not allowed.",
            )
        requested = request.headers.get("Access-Control-Request-Headers", "")
        names = [name.strip().lower() for name in requested.split(",") if name.strip()]
        response = Response(status=204)
        response.headers.update(self.allow_origin_headers(origin))
        response.headers["Access-Control-Allow-Methods"] = ", ".join(ALLOWED_METHODS)
        allowed = [name for name in dict.fromkeys(names) if name in ALLOWED_HEADERS]
        if allowed:
            response.headers["Access-Control-Allow-Headers"] = ", ".join(allowed)
        response.headers["Access-Control-Max-Age"] = str(self.max_age)
        return response


def _add_vary(response: Response, *names: str) -> None:
    present = [v.strip() for v in (response.headers.get("Vary") or "").split(",") if v.strip()]
    lowered = {v.lower() for v in present}
    present.extend(name for name in names if name.lower() not in lowered)
    response.headers["Vary"] = ", ".join(present)


def cors_tween_factory(handler: Handler, registry: Registry) -> Handler:
    policy: CorsPolicy = registry[POLICY_KEY]

    def cors_tween(request: Request) -> Response:
        origin = request.headers.get("Origin")
        is_preflight = (
            origin is not None
            and request.method == "OPTIONS"
            and "Access-Control-Request-Method" in request.headers
        )
        if is_preflight:
            request.request_id = request_id_from(request)  # answered above the observability tween
            response = policy.preflight(request, origin)
            response.headers[REQUEST_ID_HEADER] = request.request_id
            _add_vary(response, "Origin", "Access-Control-Request-Method",
                      "Access-Control-Request-Headers")  # fmt: skip
            return response
        response = handler(request)
        if not policy.enabled:
            return response
        if not policy.any_origin:
            # The answer differs by origin: a shared cache must not hand one origin's to another.
            _add_vary(response, "Origin")
        if origin is not None and policy.allows(origin):
            response.headers.update(policy.allow_origin_headers(origin))
            response.headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
        return response

    return cors_tween


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    config.registry[POLICY_KEY] = CorsPolicy.from_settings(
        settings["benben.cors.origins"],
        bool(settings["benben.cors.allow_credentials"]),
        int(settings["benben.cors.max_age"]),
    )
    config.add_tween(
        "benben.hardening.cors.cors_tween_factory",
        under=("benben.hardening.headers.security_headers_tween_factory", INGRESS),
        over="benben.observability.tweens.observability_tween_factory",
    )
