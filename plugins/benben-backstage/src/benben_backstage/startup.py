"""Registration when the server starts (``benben.backstage.register_on_startup``).

It runs in a daemon thread started on ``ApplicationCreated``: start-up never waits for
Backstage, and Backstage may read the location before this server listens, so failures are
retried with a doubling delay.  A wrong token (401/403) is not retried.  Every replica
registering the same URL is harmless: ``onConflict=refresh`` keeps one location.
"""

from __future__ import annotations

import logging
import threading

from benben.plugin import Registry

from .client import BackstageError, Catalog
from .settings import BackstageSettings

__all__ = ["THREAD_KEY", "register_in_background", "start_registration"]

THREAD_KEY = "benben_backstage.registration"
MAX_DELAY = 300.0
log = logging.getLogger("benben_backstage")


def register_in_background(
    catalog: Catalog,
    target: str,
    attempts: int,
    first_delay: float,
    stop: threading.Event,
) -> bool:
    """Register ``target`` until it works, ``attempts`` run out or ``stop`` is set."""
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            catalog.register(target)
        except BackstageError as exc:
            final = not exc.retryable or attempt == attempts
            log.log(
                logging.ERROR if final else logging.WARNING,
                "backstage: registering %s failed (attempt %d of %d): %s%s",
                target,
                attempt,
                attempts,
                exc,
                "" if final else f"; retrying in {delay:g}s",
            )
            if final or stop.wait(delay):
                break
            delay = min(delay * 2, MAX_DELAY)
        else:
            log.info("backstage: registered %s in %s", target, catalog.base_url)
            return True
    return False


def start_registration(registry: Registry, settings: BackstageSettings, target: str) -> None:
    """Start the background registration, once per registry."""
    if not (settings.url and target):
        missing = "benben.backstage.url" if not settings.url else "benben.public_url"
        log.warning("backstage: register_on_startup is on, but %s is not set: skipped", missing)
        return
    if registry.get(THREAD_KEY) is not None:
        return
    catalog = Catalog(settings.url, settings.token, settings.timeout)
    stop = threading.Event()
    thread = threading.Thread(
        target=register_in_background,
        args=(catalog, target, settings.register_attempts, settings.register_retry_seconds, stop),
        name="benben-backstage-register",
        daemon=True,  # never keeps a stopping server alive
    )
    registry[THREAD_KEY] = (thread, stop)
    thread.start()
