"""Security headers on every response.

``security_headers_tween_factory`` is the outermost tween (over the observability tween, which
turns every error into a response), so that 404s, 429s and last-resort 500s carry the headers
too.  A view may set its own ``Content-Security-Policy`` or ``Cache-Control``; the others are
fixed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import INGRESS

from benben.errors import problem_response

__all__ = ["API_CSP", "HTML_CSP", "security_headers_tween_factory", "set_headers"]

# APIs and problem documents load nothing and may not be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# HTML pages (API docs, setup page) load their own scripts, styles and images only.
HTML_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

log = logging.getLogger(__name__)

Handler = Callable[[Request], Response]


def set_headers(response: Response, headers: Mapping[str, str]) -> None:
    """``response.headers.update(headers)``, appending those not set yet.  WebOb's header view
    scans the whole list to replace each name; every response gets half a dozen of these."""
    headerlist = response.headerlist
    present = {name.lower() for name, _ in headerlist}
    for name, value in headers.items():
        if name.lower() in present:
            response.headers[name] = value
        else:
            headerlist.append((name, value))


_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def security_headers(request: Request, response: Response, hsts_max_age: int) -> Mapping[str, str]:
    """The headers to set on ``response`` (those a view may choose are left when it did)."""
    headers = dict(FIXED_HEADERS)
    if hsts_max_age > 0:
        headers["Strict-Transport-Security"] = f"max-age={hsts_max_age}; includeSubDomains"
    headers.update(_chosen(request, response.headerlist))
    return headers


def _chosen(request: Request, headerlist: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers a view may set itself, for those it did not: one pass over the list."""
    has_csp = has_cache_control = False
    media_type = ""
    for name, value in headerlist:
        lowered = name.lower()
        if lowered == "content-security-policy":
            has_csp = True
        elif lowered == "cache-control":
            has_cache_control = True
        elif lowered == "content-type":
            media_type = value.partition(";")[0].strip().lower()
    chosen = []
    if not has_csp:
        chosen.append(
            ("Content-Security-Policy", HTML_CSP if media_type in _HTML_TYPES else API_CSP)
        )
    if not has_cache_control and request.environ.get("HTTP_AUTHORIZATION"):
        # An answer computed for one credential must not be kept by a shared cache.
        chosen.append(("Cache-Control", "no-store"))
    return chosen


def security_headers_tween_factory(handler: Handler, registry: Registry) -> Handler:
    hsts_max_age = int(registry.settings["benben.security.hsts_max_age"])
    # Computed once: every response gets them.
    fixed = list(FIXED_HEADERS.items())
    if hsts_max_age > 0:
        fixed.append(("Strict-Transport-Security", f"max-age={hsts_max_age}; includeSubDomains"))
    fixed_names = frozenset(name.lower() for name, _ in fixed)

    def security_headers_tween(request: Request) -> Response:
        try:
            response = handler(request)
        except UnicodeDecodeError:
            # A path or query that is not UTF-8 fails wherever it is first read, possibly in a
            # tween before the exception views; it is the client's error.
            response = problem_response(request, 400, detail="The request URL is not valid UTF-8.")
        except Exception:
            # Outermost tween: nothing above turns an error into a response but the server.
            log.exception("unhandled error in a tween")
            response = problem_response(request, 500, detail="An unexpected error occurred.")
        headerlist = response.headerlist
        if any(name.lower() in fixed_names for name, _ in headerlist):
            set_headers(response, security_headers(request, response, hsts_max_age))
        else:  # the usual answer: the fixed headers are new, appended without a lookup each
            headerlist.extend(fixed)
            headerlist.extend(_chosen(request, headerlist))
        return response

    return security_headers_tween


def includeme(config: Configurator) -> None:
    config.add_tween(
        "benben.hardening.headers.security_headers_tween_factory",
        under=INGRESS,
        over="benben.observability.tweens.observability_tween_factory",
    )
