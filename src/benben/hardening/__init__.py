"""HTTP hardening: what every request and response goes through, whoever the caller is.

- :mod:`.headers`: security headers on every response (the outermost tween);
- :mod:`.cors`: CORS for the origins of ``benben.cors.origins``, preflight answered;
- :mod:`.proxies`: ``X-Forwarded-*`` believed from ``benben.security.trusted_proxies`` only;
- :mod:`.body_limit`: a body over ``benben.security.max_body_size`` refused with a 413;
- :mod:`.params`: NUL and lone surrogates in paths, query parameters and headers refused (400).

Where each tween sits in the chain is said by its ``under``/``over``: see architecture.md.
"""

from __future__ import annotations

from pyramid.config import Configurator

__all__ = ["includeme"]


def includeme(config: Configurator) -> None:
    config.include("benben.hardening.cors")
    config.include("benben.hardening.headers")
    config.include("benben.hardening.body_limit")
    config.include("benben.hardening.proxies")
    config.include("benben.hardening.params")
