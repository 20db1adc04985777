"""Rate limits per principal and route group, and login throttling, on the ``limits`` library.

- :mod:`.rules`: which limits apply (settings, the ``set_ratelimit_group`` directive);
- :mod:`.store`: the storage (memory or Redis), failing open while it is down;
- :mod:`.window`: a request counted against all its windows and read back in one round trip;
- :mod:`.lease`: a busy key's requests admitted from slots counted ahead, with no round trip;
- :mod:`.counting`: decisions, ``RateLimit-*`` headers, ``count_request`` for views;
- :mod:`.tween`: every request counted once;
- :mod:`.reserve` and :mod:`.throttle`: failed logins per account and per address.
"""

from __future__ import annotations

from pyramid.config import Configurator

from benben.ratelimit.rules import (
    LIMITS_KEY,
    ROUTE_GROUPS_KEY,
    RateLimits,
    add_ratelimit_exemption,
    set_ratelimit_group,
)
from benben.ratelimit.store import STORE_KEY, build_store

__all__ = ["includeme"]


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    config.registry[LIMITS_KEY] = RateLimits.from_settings(settings)
    config.registry[STORE_KEY] = build_store(settings)
    config.registry[ROUTE_GROUPS_KEY] = {}
    config.add_directive("set_ratelimit_group", set_ratelimit_group)
    config.add_directive("add_ratelimit_exemption", add_ratelimit_exemption)
    if config.registry[LIMITS_KEY].enabled:
        config.add_tween(
            "benben.ratelimit.tween.ratelimit_tween_factory",
            under=(
                "benben.hardening.proxies.proxies_tween_factory",
                "benben.observability.tweens.observability_tween_factory",
            ),
            over="pyramid_tm.tm_tween_factory",
        )
    config.include("benben.ratelimit.throttle")
